// the library's constructs in the shapes the real-terraform tests run on: an AccessDroplet and a
// fleet, each in both access modes, in a stack of their own (with the null provider the readiness
// wait needs).
import { Testing, TerraformStack } from 'cdktf';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { AccessDroplet, AccessDropletFleet, AccessDropletFleetProps, AccessDropletProps, AccessMode } from '../../../lib';
import { CA_KEY, fleetProps, minimalProps } from '../../fixtures';

export type Shape = 'self-hosted' | 'infrastructure' | 'fleet' | 'fleet-infrastructure';
export const SHAPES: readonly Shape[] = ['self-hosted', 'infrastructure', 'fleet', 'fleet-infrastructure'];

/**
 * a stack holding one AccessDroplet "Test" or one AccessDropletFleet "Fleet" of `shape`, with
 * `props` on top of the fixtures' smallest valid props.
 */
export function libraryStack(shape: Shape, props: Partial<AccessDropletProps & AccessDropletFleetProps> = {}): TerraformStack {
  const stack = new TerraformStack(Testing.app(), 'stack');
  new NullProvider(stack, 'null');
  const infrastructure = { zoneId: undefined, mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY };
  switch (shape) {
    case 'self-hosted':
      new AccessDroplet(stack, 'Test', { ...minimalProps, ...props } as AccessDropletProps);
      break;
    case 'infrastructure':
      new AccessDroplet(stack, 'Test', { ...minimalProps, ...infrastructure, ...props } as AccessDropletProps);
      break;
    case 'fleet':
      new AccessDropletFleet(stack, 'Fleet', { ...fleetProps, ...props } as AccessDropletFleetProps);
      break;
    case 'fleet-infrastructure':
      new AccessDropletFleet(stack, 'Fleet', { ...fleetProps, ...infrastructure, ...props } as AccessDropletFleetProps);
      break;
  }
  return stack;
}

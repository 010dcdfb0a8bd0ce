// lib/build/creation-stacks.ts: the build makes its tokens without formatting a creation stack for
// each (CDK_DEBUG=true records them), leaves Error.prepareStackTrace as it found it however the
// build ends, and errors thrown inside keep their real stacks.
import { Tokenization } from 'cdktf';
import { AccessDroplet } from '../lib';
import { UNRECORDED_STACK, withoutCreationStacks } from '../lib/build/creation-stacks';
import { minimalProps, newDroplet, newStack } from './fixtures';

/** the creation stack cdktf recorded for the token `value`. */
function creationStackOf(value: string): string[] {
  const [token] = Tokenization.reverseString(value).tokens;
  expect(token).toBeDefined();
  return token.creationStack;
}

describe('creation stacks of the tokens the build makes', () => {
  const saved = process.env.CDK_DEBUG;
  afterEach(() => {
    if (saved === undefined) delete process.env.CDK_DEBUG;
    else process.env.CDK_DEBUG = saved;
  });

  test('are not recorded: every token made inside the build says so, and how to record it', () => {
    delete process.env.CDK_DEBUG;
    const droplet = newDroplet({});
    // read during the build (the tunnel's id) and made by Fn (the token, through sensitive()).
    expect(creationStackOf(droplet.tunnelId)).toEqual([UNRECORDED_STACK]);
    expect(UNRECORDED_STACK).toMatch(/CDK_DEBUG=true/);
  });

  test.each(['true', '1'])('are recorded with CDK_DEBUG=%s, and name the construct that made them', (value) => {
    process.env.CDK_DEBUG = value;
    const droplet = newDroplet({});
    const stack = creationStackOf(droplet.tunnelId);
    expect(stack.length).toBeGreaterThan(3);
    expect(stack.join('\n')).toMatch(/buildTunnels/);
  });

  test('a token made outside the build keeps its stack', () => {
    delete process.env.CDK_DEBUG;
    const droplet = newDroplet({});
    // read after the build, in the test: the stack names this file.
    expect(creationStackOf(droplet.droplet.urn).join('\n')).toMatch(/creation-stacks\.test\.ts/);
  });

  test('Error.prepareStackTrace is put back exactly, after a build and after a build that throws', () => {
    delete process.env.CDK_DEBUG;
    const before = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
    const capture = Object.getOwnPropertyDescriptor(Error, 'captureStackTrace');
    newDroplet({});
    expect(Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace')).toEqual(before);
    expect(Object.getOwnPropertyDescriptor(Error, 'captureStackTrace')).toEqual(capture);
    expect(() => withoutCreationStacks(() => { throw new Error('inside'); })).toThrow('inside');
    expect(Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace')).toEqual(before);
    expect(Object.getOwnPropertyDescriptor(Error, 'captureStackTrace')).toEqual(capture);
    // a formatter of the user's own (source-map-support installs one) comes back too.
    const mine = (e: Error) => `mine: ${e.message}`;
    Error.prepareStackTrace = mine;
    try {
      withoutCreationStacks(() => undefined);
      expect(Error.prepareStackTrace).toBe(mine);
    } finally {
      if (before === undefined) delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
      else Object.defineProperty(Error, 'prepareStackTrace', before);
    }
  });

  test('Error.captureStackTrace inside the build still captures an Error\'s real stack', () => {
    delete process.env.CDK_DEBUG;
    const e = withoutCreationStacks(() => {
      const err = new Error('made inside');
      Error.captureStackTrace(err, withoutCreationStacks);
      return err;
    });
    expect(e.stack).not.toContain(UNRECORDED_STACK);
    expect(e.stack).toMatch(/creation-stacks\.test\.ts/);
  });

  test('an error thrown inside the build keeps its real stack', () => {
    delete process.env.CDK_DEBUG;
    const stack = newStack();
    new AccessDroplet(stack, 'A', minimalProps);
    // the same hostname twice in one stack: the build's name claims refuse it.
    let thrown: Error | undefined;
    try {
      new AccessDroplet(stack, 'B', minimalProps);
    } catch (e) {
      thrown = e as Error;
    }
    expect(thrown?.message).toMatch(/is used by both/);
    expect(thrown?.stack).not.toContain(UNRECORDED_STACK);
    expect(thrown?.stack).toMatch(/claimName/);
  });
});

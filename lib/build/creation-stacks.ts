// cdktf records where every token was made: each attribute read, each Fn call and each computed
// field a provider class sets up in its constructor captures and formats a full stack trace
// (cdktf lib/tokens/private/stack-trace.ts), only to show it if that token later fails to
// resolve. A thousand hosts make some 33,000 of them, and formatting them was the largest single
// cost of building a fleet. Inside our build those stacks would point into this package, not at
// the user's code, so the build runs without formatting them, as aws-cdk has done for its own
// tokens since 1.71 (creation stacks opt-in with CDK_DEBUG=true). CDK_DEBUG=true records them here
// too.

/** what a token made during the build records instead of its creation stack. */
export const UNRECORDED_STACK = 'creation stack not recorded by cdktf-access-droplet (set CDK_DEBUG=true to record it)';

const NO_STACK = (): string => `Error\n    at ${UNRECORDED_STACK}`;

/**
 * Runs `build` with stack traces formatted as {@link UNRECORDED_STACK}, unless CDK_DEBUG is true,
 * and puts `Error.prepareStackTrace` back as it was however `build` ends. An error thrown inside
 * keeps its real stack: V8 formats a stack when it is first read, by then with the formatter
 * restored.
 */
export function withoutCreationStacks<T>(build: () => T): T {
  if (process.env.CDK_DEBUG === 'true' || process.env.CDK_DEBUG === '1') return build();
  const previous = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
  const previousCapture = Object.getOwnPropertyDescriptor(Error, 'captureStackTrace');
  const capture = Error.captureStackTrace;
  Error.prepareStackTrace = NO_STACK;
  // cdktf (and constructs) capture into a plain `{ stack: '' }` with Error.stackTraceLimit at
  // MAX_SAFE_INTEGER: V8 walks every frame and makes a CallSite of each before NO_STACK can drop
  // them. Such a capture gets its one-line stack directly; an Error is captured as V8 would.
  Error.captureStackTrace = function captureStackTrace(target: object, below?: Function): void {
    if (target instanceof Error) capture(target, below);
    else (target as { stack?: string }).stack = NO_STACK();
  };
  try {
    return build();
  } finally {
    if (previous === undefined) delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
    else Object.defineProperty(Error, 'prepareStackTrace', previous);
    Object.defineProperty(Error, 'captureStackTrace', previousCapture!);
  }
}

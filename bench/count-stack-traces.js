// preload (`node -r ./bench/count-stack-traces.js ...`): counts the stack traces cdktf captures,
// one per token, lazy value, dynamic block or computed-list reference it creates, and the frames
// in them, and prints both to stderr at exit. Formatting a trace costs per frame, so the frame
// count (token count times stack depth) is the better proxy for the cost; both are deterministic
// measures of token churn, free of timing noise.
'use strict';
const path = require('path');
const st = require(require.resolve('cdktf/lib/tokens/private/stack-trace', { paths: [path.resolve(__dirname, '..')] }));
const original = st.captureStackTrace;
let count = 0;
let frames = 0;
// callers go through the exports object (`(0, stack_trace_1.captureStackTrace)()`), so
// replacing the export is enough.
st.captureStackTrace = function captureStackTrace(below) {
  count++;
  const trace = original(below || captureStackTrace);
  frames += trace.length;
  return trace;
};
process.on('exit', () => process.stderr.write(`stack traces captured: ${count}, frames: ${frames} (${(frames / Math.max(count, 1)).toFixed(1)} per trace)\n`));

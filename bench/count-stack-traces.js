// preload (`node -r ./bench/count-stack-traces.js ...`): counts the stack traces cdktf captures,
// one per token, lazy value, dynamic block or computed-list reference it creates, and prints the
// count to stderr at exit. A deterministic measure of token churn, free of timing noise.
'use strict';
const path = require('path');
const st = require(require.resolve('cdktf/lib/tokens/private/stack-trace', { paths: [path.resolve(__dirname, '..')] }));
const original = st.captureStackTrace;
let count = 0;
// callers go through the exports object (`(0, stack_trace_1.captureStackTrace)()`), so
// replacing the export is enough.
st.captureStackTrace = function captureStackTrace(below) {
  count++;
  return original(below || captureStackTrace);
};
process.on('exit', () => process.stderr.write(`stack traces captured: ${count}\n`));

// Preloaded into the service's process by test/crash/fatal-error.e2e-spec.ts (node -r): a
// request carrying `X-Test-Throw-After-Answer: 1` gets a callback that throws 10 ms after its
// answer was sent, in the request's async context — the kind of bug that once ended the process
// from the request deadline's timer. Nothing in src/ knows about it.
const http = require('node:http');

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, res) {
  if (event === 'request' && req.headers['x-test-throw-after-answer'] === '1') {
    res.once('finish', () => {
      setTimeout(() => {
        throw new Error('injected: a callback that ran after the answer threw');
      }, 10);
    });
  }
  return emit.apply(this, arguments);
};

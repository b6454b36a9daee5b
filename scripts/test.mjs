// Runs the tap suite and ends with the plain "N passed, N failed" line that CI reads.
// A "test" here is a named behaviour: each subtest directly inside a test file.
import { spawn } from 'node:child_process';

const args = ['tap', '--reporter=tap', ...process.argv.slice(2)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'] });
let passed = 0;
let failed = 0;
let rest = '';
const failures = [];
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const text = rest + chunk.toString('utf8');
  const lines = text.split('\n');
  rest = lines.pop() ?? '';
  for (const line of lines) count(line);
});
function count(line) {
  const m = /^ {4}(not )?ok \d+ - (.*)$/.exec(line);
  if (!m || / # (SKIP|TODO)\b/.test(m[2])) return; // skipped work is neither passed nor failed
  if (m[1]) { failed++; failures.push(m[2]); } else passed++;
}
child.on('close', (code) => {
  if (rest) count(rest);
  if (failures.length) console.log('\nfailed:\n' + failures.map((f) => '  - ' + f).join('\n'));
  if (code !== 0 && failed === 0) failed = 1; // a file that crashed before reporting still fails the run
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});

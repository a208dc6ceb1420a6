// A node:test reporter that names each test file as it starts and as it
// ends (with its duration), then lists the files slowest first. It goes
// beside the spec reporter, which prints each test:
//
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./lib/files-reporter.mjs --test-reporter-destination=stdout
//
// The spec reporter prints a file's tests once the file is done, so with
// --test-concurrency above 1 they can come after the next file's start line.
import { relative } from 'node:path';

export default async function* filesReporter(source) {
  const begin = Date.now();
  const clock = () => {
    const s = Math.round((Date.now() - begin) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  const name = (file) => relative(process.cwd(), file);
  const done = [];
  for await (const { type, data } of source) {
    // Each file runs as a test of its own, named by its path.
    if (!data?.file || data.name !== data.file || data.nesting !== 0) continue;
    if (type === 'test:dequeue') {
      yield `[${clock()}] ▶ ${name(data.file)} started\n`;
    } else if (type === 'test:complete') {
      const seconds = data.details.duration_ms / 1000;
      done.push({ file: name(data.file), seconds, passed: data.details.passed });
      yield `[${clock()}] ${data.details.passed ? '✔' : '✖'} ${name(data.file)} ${data.details.passed ? 'passed' : 'FAILED'} in ${seconds.toFixed(1)}s\n`;
    }
  }
  done.sort((a, b) => b.seconds - a.seconds);
  yield `[${clock()}] files, slowest first: ${done.map((d) => `${d.file} ${d.seconds.toFixed(0)}s${d.passed ? '' : ' (failed)'}`).join(', ')}\n`;
}

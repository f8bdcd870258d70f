/**
 * Hello-world programs per runtime, for new rooms. The VM tests run every one
 * of them and check it prints {@link TEMPLATE_OUTPUT}.
 * @module
 */
import { RUNTIMES } from './runtimes.js';
import type { RuntimeId } from './runtimes.js';

/** One file of a template; `path` is relative to the workspace. */
export interface TemplateFile {
  readonly path: string;
  readonly content: string;
}

const SOURCES: Readonly<Record<RuntimeId, string>> = {
  py: 'print("Hello, world!")\n',
  js: 'console.log("Hello, world!");\n',
  ts: 'const greeting: string = "Hello, world!";\nconsole.log(greeting);\n',
  go: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello, world!")\n}\n',
  c: '#include <stdio.h>\n\nint main(void) {\n    printf("Hello, world!\\n");\n    return 0;\n}\n',
  cpp: '#include <iostream>\n\nint main() {\n    std::cout << "Hello, world!" << std::endl;\n    return 0;\n}\n',
  rs: 'fn main() {\n    println!("Hello, world!");\n}\n',
  java: 'public class Main {\n    public static void main(String[] args) {\n        System.out.println("Hello, world!");\n    }\n}\n',
  rb: 'puts "Hello, world!"\n',
  sh: '#!/bin/bash\necho "Hello, world!"\n',
};

/** The text every template prints. */
export const TEMPLATE_OUTPUT = 'Hello, world!\n';

/**
 * The files of a new room in `id`'s language: its default entry file with a
 * hello-world program.
 *
 * @example
 * helloTemplate('go') // [{ path: 'main.go', content: 'package main\n…' }]
 */
export function helloTemplate(id: RuntimeId): TemplateFile[] {
  return [{ path: RUNTIMES[id].entry, content: SOURCES[id] }];
}

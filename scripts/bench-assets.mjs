// Copies the non-TypeScript files the compiled benchmarks read (proto files, test TLS certificates).
import { cpSync } from 'node:fs';
cpSync('proto', 'dist-bench/proto', { recursive: true });
cpSync('test/fixtures/tls', 'dist-bench/test/fixtures/tls', { recursive: true });

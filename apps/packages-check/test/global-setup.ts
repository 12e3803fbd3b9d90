import type { TestProject } from 'vitest/node';
import { packAll } from './packages.js';

/** Packs once for every test file. */
export default function setup(project: TestProject): void {
  project.provide('tarballs', packAll());
}

declare module 'vitest' {
  export interface ProvidedContext {
    tarballs: Record<string, string>;
  }
}

import { fileURLToPath } from 'node:url';

/**
 * The package's root folder, holding `queries/` and `migrations/`. This module sits directly in `src/`
 * (tests) or `dist/` (published), one level below the root either way.
 */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url));

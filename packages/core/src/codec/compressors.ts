/**
 * Compressors shrink large packages. Small ones are sent as they are: below `minBytes` the CPU spent
 * outweighs the bytes saved (a no-op task's package is ~200 bytes).
 */
import { nodeZlib } from '../node-builtins.js';

export interface Compressor {
  /** Up to 32 ASCII letters, digits, `-` or `_`: it is written into every frame. */
  readonly name: string;
  compress(bytes: Uint8Array): Uint8Array;
  /** Decompress, refusing (throwing) once the output would pass `maxBytes`: a zip bomb stops early. */
  decompress(bytes: Uint8Array, maxBytes: number): Uint8Array;
}

/** Default decompression limit: a tiny package must not expand into gigabytes. */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

export const noCompression: Compressor = {
  name: 'none',
  compress: (bytes) => bytes,
  decompress: (bytes) => bytes,
};

export const gzipCompressor: Compressor = {
  name: 'gzip',
  compress: (bytes) => nodeZlib().gzipSync(bytes, { level: 6 }),
  decompress: (bytes, maxBytes) => nodeZlib().gunzipSync(bytes, { maxOutputLength: maxBytes }),
};

export const deflateCompressor: Compressor = {
  name: 'deflate',
  compress: (bytes) => nodeZlib().deflateRawSync(bytes, { level: 6 }),
  decompress: (bytes, maxBytes) => nodeZlib().inflateRawSync(bytes, { maxOutputLength: maxBytes }),
};

export const brotliCompressor: Compressor = {
  name: 'brotli',
  // Quality 11 (the library default) is ~20x slower than 5 for a few percent; 5 suits messages.
  compress: (bytes) => {
    const zlib = nodeZlib();
    return zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
  },
  decompress: (bytes, maxBytes) => nodeZlib().brotliDecompressSync(bytes, { maxOutputLength: maxBytes }),
};

type ZstdZlib = ReturnType<typeof nodeZlib> & {
  zstdCompressSync(bytes: Uint8Array): Buffer;
  zstdDecompressSync(bytes: Uint8Array, options?: { maxOutputLength?: number }): Buffer;
};

/** True on a Node that has zstd in node:zlib (22.15+, 23.8+), told from the version: zlib loads on first use. */
export function nodeHasZstd(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 8) || (major === 22 && minor >= 15);
}

/** zstd, where this Node has it. */
export const zstdCompressor: Compressor | undefined = nodeHasZstd()
  ? {
      name: 'zstd',
      compress: (bytes) => (nodeZlib() as ZstdZlib).zstdCompressSync(bytes),
      decompress: (bytes, maxBytes) =>
        (nodeZlib() as ZstdZlib).zstdDecompressSync(bytes, { maxOutputLength: maxBytes }),
    }
  : undefined;

export const builtInCompressors: readonly Compressor[] = [
  noCompression,
  gzipCompressor,
  deflateCompressor,
  brotliCompressor,
  ...(zstdCompressor ? [zstdCompressor] : []),
];

/** What `compress: true` means: gzip, readable by every Node tasq supports and by other languages. */
export const defaultCompressorName = 'gzip';

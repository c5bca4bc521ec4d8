/** Node implementations of FileTree and ByteSource over the file system. */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteSource, DirEntry, FileTree } from './files.ts';

export function nodeFileTree(root: string): FileTree {
  return {
    async list(dir) {
      const entries = await readdir(join(root, dir), { withFileTypes: true }).catch((err: Error) => {
        throw new Error(`cannot list ${join(root, dir)}: ${err.message}`);
      });
      return entries
        .filter((e) => e.isFile() || e.isDirectory())
        .map((e): DirEntry => ({ name: e.name, kind: e.isDirectory() ? 'directory' : 'file' }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async read(path) {
      return new Uint8Array(await readFile(join(root, path)));
    },
  };
}

export function fileByteSource(path: string): ByteSource {
  return {
    name: path,
    size: async () => (await stat(path)).size,
    async read(offset, length) {
      const fh = await open(path, 'r');
      try {
        const buf = new Uint8Array(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        if (bytesRead !== length) throw new Error(`${path}: wanted ${length} bytes at ${offset}, got ${bytesRead}`);
        return buf;
      } finally {
        await fh.close();
      }
    },
  };
}

/**
 * Where data files come from: a directory tree (Node: the file system; browser: a
 * FileSystemDirectoryHandle from a folder picker or the origin-private file system) and
 * random-access byte sources (a file, a Blob, an HTTP URL with Range requests).
 */
export interface DirEntry {
  readonly name: string;
  readonly kind: 'file' | 'directory';
}

export interface FileTree {
  /** Entries of a directory ('' = root), sorted by name. */
  list(dir: string): Promise<DirEntry[]>;
  read(path: string): Promise<Uint8Array>;
}

export interface ByteSource {
  readonly name: string;
  size(): Promise<number>;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p.length > 0).join('/');
}

/** A tree over a browser directory handle (showDirectoryPicker() or navigator.storage.getDirectory()). */
export function directoryHandleTree(root: FileSystemDirectoryHandle): FileTree {
  async function dirAt(path: string): Promise<FileSystemDirectoryHandle> {
    let d = root;
    for (const part of path.split('/').filter((p) => p.length > 0)) {
      try {
        d = await d.getDirectoryHandle(part);
      } catch {
        throw new Error(`no directory '${path}' under ${root.name || 'the chosen folder'}`);
      }
    }
    return d;
  }
  return {
    async list(dir) {
      const d = await dirAt(dir);
      const out: DirEntry[] = [];
      for await (const [name, h] of (d as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        out.push({ name, kind: h.kind === 'directory' ? 'directory' : 'file' });
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async read(path) {
      const parts = path.split('/');
      const file = parts.pop()!;
      const d = await dirAt(parts.join('/'));
      try {
        const h = await d.getFileHandle(file);
        return new Uint8Array(await (await h.getFile()).arrayBuffer());
      } catch {
        throw new Error(`cannot read '${path}' under ${root.name || 'the chosen folder'}`);
      }
    },
  };
}

export function blobByteSource(blob: Blob, name = 'blob'): ByteSource {
  return {
    name,
    size: async () => blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/** An HTTP resource read with Range requests (the server must honour them). */
export function urlByteSource(url: string): ByteSource {
  return {
    name: url,
    async size() {
      const r = await fetch(url, { method: 'HEAD' });
      const len = Number(r.headers.get('content-length'));
      if (!r.ok || !Number.isFinite(len)) throw new Error(`${url}: HEAD gave ${r.status} without a content-length`);
      return len;
    },
    async read(offset, length) {
      const r = await fetch(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
      if (r.status !== 206 && r.status !== 200) throw new Error(`${url}: range request gave HTTP ${r.status}`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      // A server that ignores Range sends the whole file.
      return r.status === 200 ? bytes.slice(offset, offset + length) : bytes;
    },
  };
}

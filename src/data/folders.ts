/**
 * Folder data sets: ImageNet-C (`<corruption>/<severity>/<wnid>/*.JPEG`), plain labelled
 * folders (`<class>/*.{jpg,jpeg,png}`), list files (`images/<file>, <label>` per line) and
 * CamVid image / label PNG pairs.
 */
import type { ImageDecoder } from './decode.ts';
import { joinPath, type FileTree } from './files.ts';

export interface LabelledFile {
  readonly path: string;
  readonly label: number;
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/**
 * `<root>/<class>/<image>` with labels by position in `classes` (default: the sorted class
 * folders, as torchvision's ImageFolder). Pass the full class list when the folder holds a subset.
 */
export async function listLabelledFolder(tree: FileTree, root: string, classes?: readonly string[]): Promise<LabelledFile[]> {
  const dirs = (await tree.list(root)).filter((e) => e.kind === 'directory').map((e) => e.name);
  if (dirs.length === 0) throw new Error(`${root || 'folder'}: no class folders`);
  const index = new Map((classes ?? dirs).map((c, i) => [c, i]));
  const out: LabelledFile[] = [];
  for (const d of dirs) {
    const label = index.get(d);
    if (label === undefined) throw new Error(`${joinPath(root, d)}: class folder '${d}' is not in the class list`);
    for (const f of await tree.list(joinPath(root, d))) {
      if (f.kind === 'file' && IMAGE_EXT.test(f.name)) out.push({ path: joinPath(root, d, f.name), label });
    }
  }
  if (out.length === 0) throw new Error(`${root || 'folder'}: no .jpg/.jpeg/.png images in the class folders`);
  return out;
}

/** ImageNet-C: one corruption and severity of `<root>/<corruption>/<severity>/<wnid>/*.JPEG`. */
export async function listImageNetC(tree: FileTree, root: string, corruption: string, severity: number, wnids?: readonly string[]): Promise<LabelledFile[]> {
  if (!Number.isInteger(severity) || severity < 1 || severity > 5) throw new Error(`ImageNet-C severity must be 1..5, got ${severity}`);
  return listLabelledFolder(tree, joinPath(root, corruption, String(severity)), wnids);
}

/** The wnids of a `synset_words.txt` (`n01440764 tench, ...` per line), in file order = label order. */
export function parseSynsetWords(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l, i) => {
      const wnid = l.split(/\s+/)[0]!;
      if (!/^n\d{8}$/.test(wnid)) throw new Error(`synset list line ${i + 1}: '${wnid}' is not a wnid`);
      return wnid;
    });
}

/** A list file of `<relative path>, <label>` lines (e.g. labels_1000class.txt); paths relative to `root`. */
export function parseLabelList(text: string, root = ''): LabelledFile[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l, i) => {
      const m = /^(.+?)\s*[, ]\s*(-?\d+)$/.exec(l);
      if (!m) throw new Error(`label list line ${i + 1}: expected '<path>, <label>', got '${l}'`);
      return { path: joinPath(root, m[1]!), label: Number(m[2]) };
    });
}

export interface SegmentationPair {
  readonly image: string;
  readonly label: string;
}

/** CamVid split folder: `<root>/<split>/images/*.png` with `<root>/<split>/labels/` files of the same name. */
export async function listCamVid(tree: FileTree, root: string, split: string): Promise<SegmentationPair[]> {
  const base = joinPath(root, split);
  const images = (await tree.list(joinPath(base, 'images'))).filter((e) => e.kind === 'file' && /\.png$/i.test(e.name));
  const labels = new Set((await tree.list(joinPath(base, 'labels'))).map((e) => e.name));
  if (images.length === 0) throw new Error(`${base}/images: no PNG images`);
  return images.map((e) => {
    if (!labels.has(e.name)) throw new Error(`${base}/labels/${e.name}: missing label map for images/${e.name}`);
    return { image: joinPath(base, 'images', e.name), label: joinPath(base, 'labels', e.name) };
  });
}

/** Decode a CamVid pair: RGB image and per-pixel class index (0..numClasses-1, or `ignore`). */
export async function readSegmentationPair(
  tree: FileTree,
  pair: SegmentationPair,
  decode: ImageDecoder,
  numClasses = 11,
  ignore = 11,
): Promise<{ height: number; width: number; image: Uint8Array; label: Uint8Array }> {
  const [img, lab] = await Promise.all([
    tree.read(pair.image).then((b) => decode(b, pair.image)),
    tree.read(pair.label).then((b) => decode(b, pair.label)),
  ]);
  if (img.height !== lab.height || img.width !== lab.width) {
    throw new Error(`${pair.label}: label map is ${lab.height}x${lab.width}, image ${pair.image} is ${img.height}x${img.width}`);
  }
  const label = new Uint8Array(lab.height * lab.width);
  for (let p = 0; p < label.length; p++) {
    const v = lab.data[p * 3]!;
    if (v >= numClasses && v !== ignore) throw new Error(`${pair.label}: pixel ${p} has class ${v}, expected 0..${numClasses - 1} or ${ignore}`);
    label[p] = v;
  }
  return { height: img.height, width: img.width, image: img.data, label };
}

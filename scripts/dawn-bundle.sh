#!/usr/bin/env bash
# Packs `npm run perf -- --dawn` for a lent GPU machine (no browser, no network; docs/perf.md):
#   .dawn/  this machine's Node (xz), dawn.node from the webgpu npm package (xz) with its
#           index.js/package.json, and scripts/perf.ts + src/perf/profile.ts bundled by esbuild
#   .gl/    Debian's Vulkan loader and GLVND libraries (the NVIDIA Vulkan driver needs both)
# Both are git-ignored here (.git/info/exclude); a device call carries them (~35 MB) and starts:
#   for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; python3 -c "import lzma,shutil,os;
#   shutil.copyfileobj(lzma.open('.dawn/node.xz'),open('/tmp/node','wb'));
#   os.makedirs('.dawn/webgpu/dist/linux-x64',exist_ok=True);
#   shutil.copyfileobj(lzma.open('.dawn/dawn.node.xz'),open('.dawn/webgpu/dist/linux-x64/dawn.node','wb'))";
#   chmod +x /tmp/node; export XDG_RUNTIME_DIR=/tmp VK_ICD_FILENAMES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json;
#   /tmp/node .dawn/perf.js --dawn .dawn/webgpu --no-torch
# (.dawn/profile.js resolves models/ two folders up: `ln -sfn "$PWD/models" "$(dirname "$PWD")/models"` first.)
# Delete the larger models/*.onnx, *.pt from the working tree for the call (64 MiB limit), and
# bring them back with `git checkout -- 'models/*.onnx' 'models/*.pt'`.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.6.2
for p in /.dawn/ /.gl/; do grep -qx "$p" .git/info/exclude 2>/dev/null || echo "$p" >> .git/info/exclude; done
rm -rf .dawn .gl && mkdir -p .dawn/webgpu .gl
tmp=$(mktemp -d)
npm i --no-save --ignore-scripts --prefix "$tmp" "webgpu@$version" >/dev/null
cp "$tmp/node_modules/webgpu/index.js" "$tmp/node_modules/webgpu/package.json" .dawn/webgpu/
xz -T2 -6 -c "$tmp/node_modules/webgpu/dist/linux-x64/dawn.node" > .dawn/dawn.node.xz
rm -rf "$tmp"
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .dawn/node.xz
npx esbuild scripts/perf.ts src/perf/profile.ts --bundle --platform=node --format=esm --splitting \
  --outdir=.dawn --entry-names='[name]' --external:playwright-core --external:vite --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
(cd .gl && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libopengl0 libgl1 libgles2 2>&1 | grep -v unsandboxed || true)
du -sh .dawn .gl

/**
 * One import registers the elements; .../src/components/index.ts under Vite, or on any
 * other site dist-components/webtta-components.js (`npm run build:components`):
 *   <script type="module" src=".../webtta-components.js"></script>
 *   <tta-classifier model="cifar10-resnet26" method="tent" source="camera" batch-size="8"></tta-classifier>
 */
import { TTAClassifier } from './tta-classifier.ts';
import { TTASegmenter } from './tta-segmenter.ts';

export { TTAClassifier, TTASegmenter };
export type { TTAStepDetail } from './tta-element.ts';

if (!customElements.get('tta-classifier')) customElements.define('tta-classifier', TTAClassifier);
if (!customElements.get('tta-segmenter')) customElements.define('tta-segmenter', TTASegmenter);

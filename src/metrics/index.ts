export { auroc } from './auroc.ts';
export { ClassificationTally, hScore, type ClassificationSummary } from './classification.ts';
export { SegmentationTally, type SegmentationSummary } from './segmentation.ts';
export { Throughput } from './throughput.ts';

export { renderMarkdown, renderSoakTable } from './markdown.ts';
export { renderHtml } from './html.ts';
export { buildTables, throughputRows, primaryMetric } from './summary.ts';

/** The statistics view (insight engineer): charts, totals and the worst sites. */
export { StatisticsView } from './StatisticsView.js';

// What every application parser is given: where to count problems, its caps, and the input's name.
import type { Anomalies } from '../core/anomalies.js';
import type { Limits } from '../config/limits.js';

export interface ParserContext {
  anomalies: Anomalies;
  limits: Limits;
  /** Input name for anomaly locations (capture path or `-`). */
  file: string;
  /** Let parser exceptions through (tests), instead of counting them as internal errors. */
  strict?: boolean;
}

import type { MetricDefinition, MetricPoint } from '@trainyard/contracts/training-jobs';

/** Points kept per metric; a long job keeps its first and latest ones. */
const maxPointsPerMetric = 10_000;

const number = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?(?:inf|nan)$/i;

/**
 * Turns training log lines into metric time series:
 * - XGBoost's per-round lines `[12]\ttrain-rmse:0.31\tvalidation-auc:0.93` → `train:rmse`, `validation:auc`
 *   at iteration 12 (what SageMaker's XGBoost prints);
 * - SageMaker's algorithm lines `#quality_metric: host=algo-1, epoch=3, train mse <loss>=0.25` → `train:mse`;
 * - every `MetricDefinitions` regex (first capture group is the value), tried on the line as
 *   printed and as CloudWatch shows it (tabs as `#011`), so SageMaker's published regexes match.
 */
export class MetricCollector {
  readonly #definitions: { name: string; regex: RegExp }[];
  readonly #series = new Map<string, MetricPoint[]>();
  readonly #builtIns: boolean;

  constructor(definitions: readonly MetricDefinition[] = [], options: { builtIns?: boolean } = {}) {
    this.#definitions = definitions.map((d) => ({ name: d.Name, regex: new RegExp(pythonRegex(d.Regex)) }));
    this.#builtIns = options.builtIns ?? true;
  }

  /** Reads one log line seen at `at`. */
  line(text: string, at: Date = new Date()): void {
    const timestamp = at.toISOString();
    if (this.#builtIns) {
      const round = /^\[(\d+)\]\t(.*)$/.exec(text);
      if (round) {
        const iteration = Number(round[1]);
        for (const part of round[2]!.split('\t')) {
          const m = /^([A-Za-z0-9_]+)-([A-Za-z0-9_@.-]+):(\S+)$/.exec(part);
          if (m && number.test(m[3]!)) this.#add(`${m[1]}:${m[2]}`, Number(m[3]), timestamp, iteration);
        }
      }
      const quality = /^#quality_metric: host=[^,]+, (?:epoch=(\d+), )?(\w+) (\w+) <\w+>=(\S+)$/.exec(text);
      if (quality && number.test(quality[4]!)) {
        this.#add(
          `${quality[2]}:${quality[3]}`,
          Number(quality[4]),
          timestamp,
          quality[1] === undefined ? undefined : Number(quality[1]),
        );
      }
    }
    if (this.#definitions.length === 0) return;
    const cloudWatch = text.includes('\t') ? text.replace(/\t/g, '#011') : undefined;
    for (const d of this.#definitions) {
      const m = d.regex.exec(text) ?? (cloudWatch ? d.regex.exec(cloudWatch) : null);
      const raw = m?.[1]?.trim();
      if (raw !== undefined && number.test(raw)) this.#add(d.name, Number(raw), timestamp);
    }
  }

  #add(name: string, value: number, timestamp: string, iteration?: number): void {
    let points = this.#series.get(name);
    if (!points) {
      points = [];
      this.#series.set(name, points);
    }
    if (points.length >= maxPointsPerMetric) points.splice(maxPointsPerMetric / 2, 1);
    const point: MetricPoint = { Timestamp: timestamp, Value: value };
    if (iteration !== undefined) point.Iteration = iteration;
    points.push(point);
  }

  /** The series so far, by metric name. */
  series(): Record<string, MetricPoint[]> {
    return Object.fromEntries(this.#series);
  }
}

/** Python's named groups `(?P<name>…)` in JavaScript's syntax; the rest of SageMaker's regexes is common. */
export function pythonRegex(source: string): string {
  return source.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
}

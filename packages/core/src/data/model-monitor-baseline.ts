import type { ColumnProfile, DatasetProfile } from '@trainyard/contracts/datasets';

type InferredType = 'Integral' | 'Fractional' | 'String' | 'Unknown';

function inferredType(column: ColumnProfile): InferredType {
  if (column.type === 'integer') return 'Integral';
  if (column.type === 'numeric') return 'Fractional';
  return 'String';
}

/** Categorical domains longer than this are not written as constraints (they would flag nothing useful). */
const maxDomain = 100;

/**
 * The profile as SageMaker Model Monitor's `statistics.json` (version 0). The KLL `sketch` is
 * not a streaming KLL sketch: it holds one compactor level with the 101 exact percentiles
 * (p0…p100) of the column, which a KLL reader treats as equally weighted items, so quantile
 * queries on it return the exact percentiles. `buckets` are the profile's 10 histogram bins.
 */
export function toMonitorStatistics(profile: DatasetProfile): Record<string, unknown> {
  return {
    version: 0,
    dataset: { item_count: profile.rowCount },
    features: profile.columns.map((c) => {
      const common = { num_present: c.count, num_missing: c.missing };
      if (c.numeric) {
        return {
          name: c.name,
          inferred_type: inferredType(c),
          numerical_statistics: {
            common,
            mean: c.numeric.mean ?? 0,
            sum: c.numeric.sum ?? 0,
            std_dev: c.numeric.std ?? 0,
            min: c.numeric.min ?? 0,
            max: c.numeric.max ?? 0,
            distribution: {
              kll: {
                buckets: c.numeric.histogram.map((b) => ({
                  lower_bound: b.lower,
                  upper_bound: b.upper,
                  count: b.count,
                })),
                sketch: {
                  parameters: { c: 0.64, k: 2048 },
                  data: [c.numeric.percentiles],
                },
              },
            },
          },
        };
      }
      return {
        name: c.name,
        inferred_type: inferredType(c),
        string_statistics: {
          common,
          distinct_count: c.distinct,
          distribution: {
            categorical: { buckets: (c.topK ?? []).map((t) => ({ value: t.value, count: t.count })) },
          },
        },
      };
    }),
  };
}

/**
 * Suggested SageMaker Model Monitor `constraints.json`: observed completeness, non-negativity of
 * numeric columns, and the value domain of categorical columns whose every value is in the top-k.
 */
export function toMonitorConstraints(profile: DatasetProfile): Record<string, unknown> {
  return {
    version: 0,
    features: profile.columns.map((c) => {
      const feature: Record<string, unknown> = {
        name: c.name,
        inferred_type: inferredType(c),
        completeness: profile.rowCount === 0 ? 0 : c.count / profile.rowCount,
      };
      if (c.numeric) feature.num_constraints = { is_non_negative: (c.numeric.min ?? 0) >= 0 };
      const domain = c.topK ?? [];
      if (
        (c.type === 'categorical' || c.type === 'boolean') &&
        domain.length > 0 &&
        domain.length === c.distinct &&
        domain.length <= maxDomain
      ) {
        feature.string_constraints = { domains: domain.map((t) => t.value) };
      }
      return feature;
    }),
    monitoring_config: {
      evaluate_constraints: 'Enabled',
      emit_metrics: 'Enabled',
      datatype_check_threshold: 0.1,
      domain_content_threshold: 0.1,
      distribution_constraints: {
        perform_comparison: 'Enabled',
        comparison_threshold: 0.1,
        comparison_method: 'Robust',
        categorical_comparison_threshold: 0.1,
        categorical_drift_method: 'LInfinity',
      },
    },
  };
}

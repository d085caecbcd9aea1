/**
 * One regression tree in XGBoost's node layout: node 0 is the root; an internal node sends a row to
 * `left` when `x[feature] < threshold`, to `right` when `x[feature] >= threshold`, and to the default
 * child (`defaultLeft`) when the value is missing (NaN). Leaves have `left === -1`; `value` holds the
 * leaf's output (learning rate already applied). `gain` is the split's loss reduction and `cover` the
 * node's hessian sum, as XGBoost reports them.
 */
export interface GbdtTree {
  left: Int32Array;
  right: Int32Array;
  feature: Int32Array;
  threshold: Float32Array;
  defaultLeft: Uint8Array;
  value: Float64Array;
  gain: Float64Array;
  cover: Float64Array;
}

/** Mutable node lists used while growing or importing a tree. */
export class TreeBuilder {
  left: number[] = [];
  right: number[] = [];
  feature: number[] = [];
  threshold: number[] = [];
  defaultLeft: number[] = [];
  value: number[] = [];
  gain: number[] = [];
  cover: number[] = [];

  get size(): number {
    return this.left.length;
  }

  addLeaf(value: number, cover: number): number {
    this.left.push(-1);
    this.right.push(-1);
    this.feature.push(-1);
    this.threshold.push(0);
    this.defaultLeft.push(0);
    this.value.push(value);
    this.gain.push(0);
    this.cover.push(cover);
    return this.left.length - 1;
  }

  /** Turns leaf `id` into a split whose children are `l` and `r`. */
  setSplit(
    id: number,
    feature: number,
    threshold: number,
    defaultLeft: boolean,
    gain: number,
    l: number,
    r: number,
  ) {
    this.feature[id] = feature;
    this.threshold[id] = threshold;
    this.defaultLeft[id] = defaultLeft ? 1 : 0;
    this.gain[id] = gain;
    this.left[id] = l;
    this.right[id] = r;
  }

  /** Freezes the nodes reachable from the root, renumbered in breadth-first order. */
  build(): GbdtTree {
    const order: number[] = [0];
    for (let q = 0; q < order.length; q++) {
      const id = order[q]!;
      if (this.left[id]! >= 0) order.push(this.left[id]!, this.right[id]!);
    }
    const m = order.length;
    const newId = new Map<number, number>();
    for (let k = 0; k < m; k++) newId.set(order[k]!, k);
    const t: GbdtTree = {
      left: new Int32Array(m),
      right: new Int32Array(m),
      feature: new Int32Array(m),
      threshold: new Float32Array(m),
      defaultLeft: new Uint8Array(m),
      value: new Float64Array(m),
      gain: new Float64Array(m),
      cover: new Float64Array(m),
    };
    for (let k = 0; k < m; k++) {
      const id = order[k]!;
      const leaf = this.left[id]! < 0;
      t.left[k] = leaf ? -1 : newId.get(this.left[id]!)!;
      t.right[k] = leaf ? -1 : newId.get(this.right[id]!)!;
      t.feature[k] = leaf ? -1 : this.feature[id]!;
      t.threshold[k] = this.threshold[id]!;
      t.defaultLeft[k] = this.defaultLeft[id]!;
      t.value[k] = this.value[id]!;
      t.gain[k] = this.gain[id]!;
      t.cover[k] = this.cover[id]!;
    }
    return t;
  }
}

// The lecture's worked examples (MIT 6.5940 EfficientML, lecture 5), shared by the lessons and
// the start page's previews. Data only: the numbers derived from them come from the core.

/** The 4x4 weight matrix of the K-means and linear quantization slides (row-major). */
export const LECTURE_W = [2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12, -0.91, 1.92, 0, -1.03,
  1.87, 0, 1.53, 1.49];

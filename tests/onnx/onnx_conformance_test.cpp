// ONNX's own operator test cases (Debian libonnx-testdata, /usr/share/libonnx-testdata/data/
// node): model.onnx + test_data_set_*/input_*.pb -> output_*.pb. The quantization cases must
// match bit for bit; the fp32 cases within a tight tolerance. Every test case of an operator
// quantlab implements is either run or listed below as unsupported with the reason, and a
// listed case must fail with a Status (never crash): a new or forgotten case fails loudly.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "onnx/onnx_test_util.hpp"
#include "quantlab/model.hpp"
#include "quantlab/onnx.hpp"

using namespace quantlab;
using namespace quantlab::testing;

namespace {

// --- The cases ---------------------------------------------------------------------------------

/// Quantization operators, bit-exact.
const std::vector<std::string> kExactCases = {
    "test_quantizelinear",
    "test_quantizelinear_axis",
    "test_dequantizelinear",
    "test_dequantizelinear_axis",
    "test_dynamicquantizelinear",
    "test_dynamicquantizelinear_max_adjusted",
    "test_dynamicquantizelinear_min_adjusted",
    "test_qlinearmatmul_2D",
    "test_qlinearmatmul_3D",
    "test_qlinearconv",
    "test_matmulinteger",
    "test_basic_convinteger",
    "test_convinteger_with_padding",
    "test_convinteger_without_padding",
};

/// fp32 (and integer) operators, compared with |got - want| <= kAtol + kRtol |want|; integer
/// outputs (Add/Mul/Clip/MaxPool on uint8 or int8) must match exactly.
constexpr double kAtol = 1e-6;
constexpr double kRtol = 1e-5;
const std::vector<std::string> kFloatCases = {
    "test_add",
    "test_add_bcast",
    "test_add_uint8",
    "test_mul",
    "test_mul_bcast",
    "test_mul_example",
    "test_mul_uint8",
    "test_relu",
    "test_clip",
    "test_clip_default_inbounds",
    "test_clip_default_int8_inbounds",
    "test_clip_default_int8_max",
    "test_clip_default_int8_min",
    "test_clip_default_max",
    "test_clip_default_min",
    "test_clip_example",
    "test_clip_inbounds",
    "test_clip_outbounds",
    "test_clip_splitbounds",
    "test_basic_conv_with_padding",
    "test_basic_conv_without_padding",
    "test_conv_with_autopad_same",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_conv_with_strides_no_padding",
    "test_conv_with_strides_padding",
    "test_gemm_all_attributes",
    "test_gemm_alpha",
    "test_gemm_beta",
    "test_gemm_default_matrix_bias",
    "test_gemm_default_no_bias",
    "test_gemm_default_scalar_bias",
    "test_gemm_default_single_elem_vector_bias",
    "test_gemm_default_vector_bias",
    "test_gemm_default_zero_bias",
    "test_gemm_transposeA",
    "test_gemm_transposeB",
    "test_matmul_2d",
    "test_matmul_3d",
    "test_matmul_4d",
    "test_maxpool_1d_default",
    "test_maxpool_2d_ceil",
    "test_maxpool_2d_default",
    "test_maxpool_2d_dilations",
    "test_maxpool_2d_pads",
    "test_maxpool_2d_precomputed_pads",
    "test_maxpool_2d_precomputed_same_upper",
    "test_maxpool_2d_precomputed_strides",
    "test_maxpool_2d_same_lower",
    "test_maxpool_2d_same_upper",
    "test_maxpool_2d_strides",
    "test_maxpool_2d_uint8",
    "test_maxpool_3d_default",
    "test_averagepool_1d_default",
    "test_averagepool_2d_ceil",
    "test_averagepool_2d_default",
    "test_averagepool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_precomputed_pads",
    "test_averagepool_2d_precomputed_pads_count_include_pad",
    "test_averagepool_2d_precomputed_same_upper",
    "test_averagepool_2d_precomputed_strides",
    "test_averagepool_2d_same_lower",
    "test_averagepool_2d_same_upper",
    "test_averagepool_2d_strides",
    "test_averagepool_3d_default",
    "test_globalaveragepool",
    "test_globalaveragepool_precomputed",
    "test_batchnorm_epsilon",
    "test_batchnorm_example",
    "test_softmax_axis_0",
    "test_softmax_axis_1",
    "test_softmax_axis_2",
    "test_softmax_default_axis",
    "test_softmax_example",
    "test_softmax_large_number",
    "test_softmax_negative_axis",
    // issue 10: activations and reductions
    "test_argmax_default_axis_example",
    "test_argmax_default_axis_example_select_last_index",
    "test_argmax_default_axis_random",
    "test_argmax_default_axis_random_select_last_index",
    "test_argmax_keepdims_example",
    "test_argmax_keepdims_example_select_last_index",
    "test_argmax_keepdims_random",
    "test_argmax_keepdims_random_select_last_index",
    "test_argmax_negative_axis_keepdims_example",
    "test_argmax_negative_axis_keepdims_example_select_last_index",
    "test_argmax_negative_axis_keepdims_random",
    "test_argmax_negative_axis_keepdims_random_select_last_index",
    "test_argmax_no_keepdims_example",
    "test_argmax_no_keepdims_example_select_last_index",
    "test_argmax_no_keepdims_random",
    "test_argmax_no_keepdims_random_select_last_index",
    "test_argmin_default_axis_example",
    "test_argmin_default_axis_example_select_last_index",
    "test_argmin_default_axis_random",
    "test_argmin_default_axis_random_select_last_index",
    "test_argmin_keepdims_example",
    "test_argmin_keepdims_example_select_last_index",
    "test_argmin_keepdims_random",
    "test_argmin_keepdims_random_select_last_index",
    "test_argmin_negative_axis_keepdims_example",
    "test_argmin_negative_axis_keepdims_example_select_last_index",
    "test_argmin_negative_axis_keepdims_random",
    "test_argmin_negative_axis_keepdims_random_select_last_index",
    "test_argmin_no_keepdims_example",
    "test_argmin_no_keepdims_example_select_last_index",
    "test_argmin_no_keepdims_random",
    "test_argmin_no_keepdims_random_select_last_index",
    "test_celu",
    "test_elu",
    "test_elu_default",
    "test_elu_example",
    "test_globalmaxpool",
    "test_globalmaxpool_precomputed",
    "test_hardmax_axis_0",
    "test_hardmax_axis_1",
    "test_hardmax_axis_2",
    "test_hardmax_default_axis",
    "test_hardmax_example",
    "test_hardmax_negative_axis",
    "test_hardmax_one_hot",
    "test_hardsigmoid",
    "test_hardsigmoid_default",
    "test_hardsigmoid_example",
    "test_hardswish",
    "test_hardswish_expanded",
    "test_instancenorm_epsilon",
    "test_instancenorm_example",
    "test_layer_normalization_2d_axis0",
    "test_layer_normalization_2d_axis1",
    "test_layer_normalization_2d_axis_negative_1",
    "test_layer_normalization_2d_axis_negative_2",
    "test_layer_normalization_3d_axis0_epsilon",
    "test_layer_normalization_3d_axis1_epsilon",
    "test_layer_normalization_3d_axis2_epsilon",
    "test_layer_normalization_3d_axis_negative_1_epsilon",
    "test_layer_normalization_3d_axis_negative_2_epsilon",
    "test_layer_normalization_3d_axis_negative_3_epsilon",
    "test_layer_normalization_4d_axis0",
    "test_layer_normalization_4d_axis1",
    "test_layer_normalization_4d_axis2",
    "test_layer_normalization_4d_axis3",
    "test_layer_normalization_4d_axis_negative_1",
    "test_layer_normalization_4d_axis_negative_2",
    "test_layer_normalization_4d_axis_negative_3",
    "test_layer_normalization_4d_axis_negative_4",
    "test_layer_normalization_default_axis",
    "test_leakyrelu",
    "test_leakyrelu_default",
    "test_leakyrelu_example",
    "test_logsoftmax_axis_0",
    "test_logsoftmax_axis_1",
    "test_logsoftmax_axis_2",
    "test_logsoftmax_default_axis",
    "test_logsoftmax_example_1",
    "test_logsoftmax_large_number",
    "test_logsoftmax_negative_axis",
    "test_lrn",
    "test_lrn_default",
    "test_prelu_broadcast",
    "test_prelu_example",
    "test_reduce_l1_default_axes_keepdims_example",
    "test_reduce_l1_default_axes_keepdims_random",
    "test_reduce_l1_do_not_keepdims_example",
    "test_reduce_l1_do_not_keepdims_random",
    "test_reduce_l1_keep_dims_example",
    "test_reduce_l1_keep_dims_random",
    "test_reduce_l1_negative_axes_keep_dims_example",
    "test_reduce_l1_negative_axes_keep_dims_random",
    "test_reduce_l2_default_axes_keepdims_example",
    "test_reduce_l2_default_axes_keepdims_random",
    "test_reduce_l2_do_not_keepdims_example",
    "test_reduce_l2_do_not_keepdims_random",
    "test_reduce_l2_keep_dims_example",
    "test_reduce_l2_keep_dims_random",
    "test_reduce_l2_negative_axes_keep_dims_example",
    "test_reduce_l2_negative_axes_keep_dims_random",
    "test_reduce_log_sum",
    "test_reduce_log_sum_asc_axes",
    "test_reduce_log_sum_default",
    "test_reduce_log_sum_desc_axes",
    "test_reduce_log_sum_negative_axes",
    "test_reduce_max_default_axes_keepdim_example",
    "test_reduce_max_default_axes_keepdims_random",
    "test_reduce_max_do_not_keepdims_example",
    "test_reduce_max_do_not_keepdims_random",
    "test_reduce_max_keepdims_example",
    "test_reduce_max_keepdims_random",
    "test_reduce_max_negative_axes_keepdims_example",
    "test_reduce_max_negative_axes_keepdims_random",
    "test_reduce_mean_default_axes_keepdims_example",
    "test_reduce_mean_default_axes_keepdims_random",
    "test_reduce_mean_do_not_keepdims_example",
    "test_reduce_mean_do_not_keepdims_random",
    "test_reduce_mean_keepdims_example",
    "test_reduce_mean_keepdims_random",
    "test_reduce_mean_negative_axes_keepdims_example",
    "test_reduce_mean_negative_axes_keepdims_random",
    "test_reduce_min_default_axes_keepdims_example",
    "test_reduce_min_default_axes_keepdims_random",
    "test_reduce_min_do_not_keepdims_example",
    "test_reduce_min_do_not_keepdims_random",
    "test_reduce_min_keepdims_example",
    "test_reduce_min_keepdims_random",
    "test_reduce_min_negative_axes_keepdims_example",
    "test_reduce_min_negative_axes_keepdims_random",
    "test_reduce_prod_default_axes_keepdims_example",
    "test_reduce_prod_default_axes_keepdims_random",
    "test_reduce_prod_do_not_keepdims_example",
    "test_reduce_prod_do_not_keepdims_random",
    "test_reduce_prod_keepdims_example",
    "test_reduce_prod_keepdims_random",
    "test_reduce_prod_negative_axes_keepdims_example",
    "test_reduce_prod_negative_axes_keepdims_random",
    "test_reduce_sum_default_axes_keepdims_example",
    "test_reduce_sum_default_axes_keepdims_random",
    "test_reduce_sum_do_not_keepdims_example",
    "test_reduce_sum_do_not_keepdims_random",
    "test_reduce_sum_empty_axes_input_noop_example",
    "test_reduce_sum_empty_axes_input_noop_random",
    "test_reduce_sum_keepdims_example",
    "test_reduce_sum_keepdims_random",
    "test_reduce_sum_negative_axes_keepdims_example",
    "test_reduce_sum_negative_axes_keepdims_random",
    "test_reduce_sum_square_default_axes_keepdims_example",
    "test_reduce_sum_square_default_axes_keepdims_random",
    "test_reduce_sum_square_do_not_keepdims_example",
    "test_reduce_sum_square_do_not_keepdims_random",
    "test_reduce_sum_square_keepdims_example",
    "test_reduce_sum_square_keepdims_random",
    "test_reduce_sum_square_negative_axes_keepdims_example",
    "test_reduce_sum_square_negative_axes_keepdims_random",
    "test_selu",
    "test_selu_default",
    "test_selu_example",
    "test_sigmoid",
    "test_sigmoid_example",
    "test_softplus",
    "test_softplus_example",
    "test_softsign",
    "test_softsign_example",
    "test_tanh",
    "test_tanh_example",
    "test_thresholdedrelu",
    "test_thresholdedrelu_default",
    "test_thresholdedrelu_example",
    "test_transpose_default",
    "test_transpose_all_permutations_0",
    "test_transpose_all_permutations_1",
    "test_transpose_all_permutations_2",
    "test_transpose_all_permutations_3",
    "test_transpose_all_permutations_4",
    "test_transpose_all_permutations_5",
    "test_concat_1d_axis_0",
    "test_concat_1d_axis_negative_1",
    "test_concat_2d_axis_0",
    "test_concat_2d_axis_1",
    "test_concat_2d_axis_negative_1",
    "test_concat_2d_axis_negative_2",
    "test_concat_3d_axis_0",
    "test_concat_3d_axis_1",
    "test_concat_3d_axis_2",
    "test_concat_3d_axis_negative_1",
    "test_concat_3d_axis_negative_2",
    "test_concat_3d_axis_negative_3",
    "test_flatten_axis0",
    "test_flatten_axis1",
    "test_flatten_axis2",
    "test_flatten_axis3",
    "test_flatten_default_axis",
    "test_flatten_negative_axis1",
    "test_flatten_negative_axis2",
    "test_flatten_negative_axis3",
    "test_flatten_negative_axis4",
    "test_reshape_allowzero_reordered",
    "test_reshape_extended_dims",
    "test_reshape_negative_dim",
    "test_reshape_negative_extended_dims",
    "test_reshape_one_dim",
    "test_reshape_reduced_dims",
    "test_reshape_reordered_all_dims",
    "test_reshape_reordered_last_dims",
    "test_reshape_zero_and_negative_dim",
    "test_reshape_zero_dim",
    "test_identity",
    "test_dropout_default",
    "test_dropout_default_ratio",
    "test_dropout_default_old",
    "test_dropout_random_old",
    // issue 10: shape ops and arithmetic
    "test_abs",
    "test_and2d",
    "test_and3d",
    "test_and4d",
    "test_and_bcast3v1d",
    "test_and_bcast3v2d",
    "test_and_bcast4v2d",
    "test_and_bcast4v3d",
    "test_and_bcast4v4d",
    "test_constantofshape_float_ones",
    "test_constantofshape_int_shape_zero",
    "test_constantofshape_int_zeros",
    "test_div",
    "test_div_bcast",
    "test_div_example",
    "test_div_uint8",
    "test_equal",
    "test_equal_bcast",
    "test_erf",
    "test_exp",
    "test_exp_example",
    "test_expand_dim_changed",
    "test_expand_dim_unchanged",
    "test_gather_0",
    "test_gather_1",
    "test_gather_2d_indices",
    "test_gather_negative_indices",
    "test_greater",
    "test_greater_bcast",
    "test_greater_equal",
    "test_greater_equal_bcast",
    "test_greater_equal_bcast_expanded",
    "test_greater_equal_expanded",
    "test_less",
    "test_less_bcast",
    "test_less_equal",
    "test_less_equal_bcast",
    "test_less_equal_bcast_expanded",
    "test_less_equal_expanded",
    "test_log",
    "test_log_example",
    "test_max_example",
    "test_max_float32",
    "test_max_int32",
    "test_max_int64",
    "test_max_int8",
    "test_max_one_input",
    "test_max_two_inputs",
    "test_max_uint8",
    "test_mean_example",
    "test_mean_one_input",
    "test_mean_two_inputs",
    "test_min_example",
    "test_min_float32",
    "test_min_int32",
    "test_min_int64",
    "test_min_int8",
    "test_min_one_input",
    "test_min_two_inputs",
    "test_min_uint8",
    "test_neg",
    "test_neg_example",
    "test_not_2d",
    "test_not_3d",
    "test_not_4d",
    "test_or2d",
    "test_or3d",
    "test_or4d",
    "test_or_bcast3v1d",
    "test_or_bcast3v2d",
    "test_or_bcast4v2d",
    "test_or_bcast4v3d",
    "test_or_bcast4v4d",
    "test_pow",
    "test_pow_bcast_array",
    "test_pow_bcast_scalar",
    "test_pow_example",
    "test_pow_types_float",
    "test_pow_types_float32_int32",
    "test_pow_types_float32_int64",
    "test_pow_types_int",
    "test_pow_types_int32_float32",
    "test_pow_types_int32_int32",
    "test_pow_types_int64_float32",
    "test_pow_types_int64_int64",
    "test_range_float_type_positive_delta",
    "test_range_int32_type_negative_delta",
    "test_reciprocal",
    "test_reciprocal_example",
    "test_shape",
    "test_shape_clip_end",
    "test_shape_clip_start",
    "test_shape_end_1",
    "test_shape_end_negative_1",
    "test_shape_example",
    "test_shape_start_1",
    "test_shape_start_1_end_2",
    "test_shape_start_1_end_negative_1",
    "test_shape_start_negative_1",
    "test_size",
    "test_size_example",
    "test_slice",
    "test_slice_default_axes",
    "test_slice_default_steps",
    "test_slice_end_out_of_bounds",
    "test_slice_neg",
    "test_slice_neg_steps",
    "test_slice_negative_axes",
    "test_slice_start_out_of_bounds",
    "test_sqrt",
    "test_sqrt_example",
    "test_squeeze",
    "test_squeeze_negative_axes",
    "test_sub",
    "test_sub_bcast",
    "test_sub_example",
    "test_sub_uint8",
    "test_sum_example",
    "test_sum_one_input",
    "test_sum_two_inputs",
    "test_unsqueeze_axis_0",
    "test_unsqueeze_axis_1",
    "test_unsqueeze_axis_2",
    "test_unsqueeze_axis_3",
    "test_unsqueeze_negative_axes",
    "test_unsqueeze_three_axes",
    "test_unsqueeze_two_axes",
    "test_unsqueeze_unsorted_axes",
    "test_where_example",
    "test_where_long_example",
    "test_xor2d",
    "test_xor3d",
    "test_xor4d",
    "test_xor_bcast3v1d",
    "test_xor_bcast3v2d",
    "test_xor_bcast4v2d",
    "test_xor_bcast4v3d",
    "test_xor_bcast4v4d",
    // issue 10: ONNX functions expanded into the operators they are made of (Softmax,
    // LogSoftmax, Celu, LayerNormalization): every operator they use now runs.
    "test_celu_expanded",
    "test_layer_normalization_2d_axis0_expanded",
    "test_layer_normalization_2d_axis1_expanded",
    "test_layer_normalization_2d_axis_negative_1_expanded",
    "test_layer_normalization_2d_axis_negative_2_expanded",
    "test_layer_normalization_3d_axis0_epsilon_expanded",
    "test_layer_normalization_3d_axis1_epsilon_expanded",
    "test_layer_normalization_3d_axis2_epsilon_expanded",
    "test_layer_normalization_3d_axis_negative_1_epsilon_expanded",
    "test_layer_normalization_3d_axis_negative_2_epsilon_expanded",
    "test_layer_normalization_3d_axis_negative_3_epsilon_expanded",
    "test_layer_normalization_4d_axis0_expanded",
    "test_layer_normalization_4d_axis1_expanded",
    "test_layer_normalization_4d_axis2_expanded",
    "test_layer_normalization_4d_axis3_expanded",
    "test_layer_normalization_4d_axis_negative_1_expanded",
    "test_layer_normalization_4d_axis_negative_2_expanded",
    "test_layer_normalization_4d_axis_negative_3_expanded",
    "test_layer_normalization_4d_axis_negative_4_expanded",
    "test_layer_normalization_default_axis_expanded",
    "test_logsoftmax_axis_0_expanded",
    "test_logsoftmax_axis_1_expanded",
    "test_logsoftmax_axis_2_expanded",
    "test_logsoftmax_default_axis_expanded",
    "test_logsoftmax_example_1_expanded",
    "test_logsoftmax_large_number_expanded",
    "test_logsoftmax_negative_axis_expanded",
    "test_softmax_axis_0_expanded",
    "test_softmax_axis_1_expanded",
    "test_softmax_axis_2_expanded",
    "test_softmax_default_axis_expanded",
    "test_softmax_example_expanded",
    "test_softmax_large_number_expanded",
    "test_softmax_negative_axis_expanded",
    // issue 10: layout, resize, conv-transpose
    "test_constant_pad",
    "test_convtranspose",
    "test_convtranspose_1d",
    "test_convtranspose_autopad_same",
    "test_convtranspose_dilations",
    "test_convtranspose_kernel_shape",
    "test_convtranspose_output_shape",
    "test_convtranspose_pad",
    "test_convtranspose_pads",
    "test_convtranspose_with_kernel",
    "test_depthtospace_crd_mode",
    "test_depthtospace_crd_mode_example",
    "test_depthtospace_dcr_mode",
    "test_depthtospace_example",
    "test_edge_pad",
    "test_reflect_pad",
    "test_resize_downsample_scales_cubic",
    "test_resize_downsample_scales_cubic_A_n0p5_exclude_outside",
    "test_resize_downsample_scales_cubic_align_corners",
    "test_resize_downsample_scales_linear",
    "test_resize_downsample_scales_linear_align_corners",
    "test_resize_downsample_scales_nearest",
    "test_resize_downsample_sizes_cubic",
    "test_resize_downsample_sizes_linear_pytorch_half_pixel",
    "test_resize_downsample_sizes_nearest",
    "test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn",
    "test_resize_tf_crop_and_resize",
    "test_resize_upsample_scales_cubic",
    "test_resize_upsample_scales_cubic_A_n0p5_exclude_outside",
    "test_resize_upsample_scales_cubic_align_corners",
    "test_resize_upsample_scales_cubic_asymmetric",
    "test_resize_upsample_scales_linear",
    "test_resize_upsample_scales_linear_align_corners",
    "test_resize_upsample_scales_nearest",
    "test_resize_upsample_sizes_cubic",
    "test_resize_upsample_sizes_nearest",
    "test_resize_upsample_sizes_nearest_ceil_half_pixel",
    "test_resize_upsample_sizes_nearest_floor_align_corners",
    "test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric",
    "test_spacetodepth",
    "test_spacetodepth_example",
    "test_split_equal_parts_1d",
    "test_split_equal_parts_2d",
    "test_split_equal_parts_default_axis",
    "test_split_variable_parts_1d",
    "test_split_variable_parts_2d",
    "test_split_variable_parts_default_axis",
    "test_split_zero_size_splits",
    "test_tile",
    "test_tile_precomputed",
    "test_upsample_nearest",
};

/// Cases of supported operators that exercise a feature quantlab does not implement. Each
/// must fail to load or run with a Status whose message contains `mentions`.
struct Unsupported {
  std::string name;
  std::string mentions;
  std::string reason;
};
const std::vector<Unsupported> kUnsupportedCases = {
    {"test_batchnorm_epsilon_training_mode", "training_mode",
     "training-mode BatchNormalization (batch statistics, 3 outputs): quantlab runs inference"},
    {"test_batchnorm_example_training_mode", "training_mode",
     "training-mode BatchNormalization (batch statistics, 3 outputs): quantlab runs inference"},
    {"test_dropout_default_mask", "mask", "the Dropout mask output is a BOOL tensor"},
    {"test_dropout_default_mask_ratio", "mask", "the Dropout mask output is a BOOL tensor"},
    {"test_training_dropout", "training_mode", "training-mode Dropout (random, BOOL training_mode input)"},
    {"test_training_dropout_default", "training_mode", "training-mode Dropout"},
    {"test_training_dropout_default_mask", "training_mode", "training-mode Dropout"},
    {"test_training_dropout_mask", "training_mode", "training-mode Dropout"},
    {"test_training_dropout_zero_ratio", "training_mode", "training-mode Dropout"},
    {"test_training_dropout_zero_ratio_mask", "training_mode", "training-mode Dropout"},
    {"test_identity_opt", "not a tensor", "Identity of an optional value (not a tensor)"},
    {"test_identity_sequence", "not a tensor", "Identity of a sequence (not a tensor)"},
    {"test_maxpool_with_argmax_2d_precomputed_pads", "Indices",
     "MaxPool's Indices output (argmax positions)"},
    {"test_maxpool_with_argmax_2d_precomputed_strides", "Indices",
     "MaxPool's Indices output (argmax positions)"},
    // issue 10: activations and reductions
    {"test_reduce_log_sum_exp_default_axes_keepdims_example", "DOUBLE",
     "float64 data (the ReduceLogSumExp cases are DOUBLE): quantlab has no float64 tensors"},
    {"test_reduce_log_sum_exp_default_axes_keepdims_random", "DOUBLE",
     "float64 data (the ReduceLogSumExp cases are DOUBLE): quantlab has no float64 tensors"},
    {"test_reduce_log_sum_exp_do_not_keepdims_example", "DOUBLE",
     "float64 data (the ReduceLogSumExp cases are DOUBLE): quantlab has no float64 tensors"},
    {"test_reduce_log_sum_exp_do_not_keepdims_random", "DOUBLE",
     "float64 data (the ReduceLogSumExp cases are DOUBLE): quantlab has no float64 tensors"},
    {"test_reduce_log_sum_exp_keepdims_example", "DOUBLE",
     "float64 data (the ReduceLogSumExp cases are DOUBLE): quantlab has no float64 tensors"},
    {"test_reduce_log_sum_exp_keepdims_random", "DOUBLE",
     "float64 data (the ReduceLogSumExp cases are DOUBLE): quantlab has no float64 tensors"},
    {"test_reduce_log_sum_exp_negative_axes_keepdims_example", "DOUBLE",
     "float64 data (the ReduceLogSumExp cases are DOUBLE): quantlab has no float64 tensors"},
    {"test_reduce_log_sum_exp_negative_axes_keepdims_random", "DOUBLE",
     "float64 data (the ReduceLogSumExp cases are DOUBLE): quantlab has no float64 tensors"},
    {"test_dynamicquantizelinear_expanded", "unsupported operator",
     "the function expanded into ReduceMin/Min/Max/Sub/Div/Round/Cast, outside quantlab's set"},
    {"test_dynamicquantizelinear_max_adjusted_expanded", "unsupported operator",
     "expanded DynamicQuantizeLinear"},
    {"test_dynamicquantizelinear_min_adjusted_expanded", "unsupported operator",
     "expanded DynamicQuantizeLinear"},
    // issue 10: shape ops and arithmetic
    {"test_cast_BFLOAT16_to_FLOAT", "element type", "BFLOAT16 tensors"},
    {"test_cast_DOUBLE_to_FLOAT", "element type", "DOUBLE tensors"},
    {"test_cast_DOUBLE_to_FLOAT16", "element type", "DOUBLE and FLOAT16 tensors"},
    {"test_cast_FLOAT16_to_DOUBLE", "element type", "FLOAT16 and DOUBLE tensors"},
    {"test_cast_FLOAT16_to_FLOAT", "element type", "FLOAT16 tensors"},
    {"test_cast_FLOAT_to_BFLOAT16", "Cast to", "BFLOAT16 tensors"},
    {"test_cast_FLOAT_to_DOUBLE", "Cast to", "DOUBLE tensors"},
    {"test_cast_FLOAT_to_FLOAT16", "Cast to", "FLOAT16 tensors"},
    {"test_cast_FLOAT_to_STRING", "Cast to", "STRING tensors"},
    {"test_cast_STRING_to_FLOAT", "element type", "STRING tensors"},
    {"test_max_float16", "element type", "FLOAT16 tensors"},
    {"test_max_float64", "element type", "DOUBLE tensors"},
    {"test_max_int16", "element type", "INT16 tensors"},
    {"test_max_uint16", "element type", "UINT16 tensors"},
    {"test_max_uint32", "element type", "UINT32 tensors"},
    {"test_max_uint64", "element type", "UINT64 tensors"},
    {"test_min_float16", "element type", "FLOAT16 tensors"},
    {"test_min_float64", "element type", "DOUBLE tensors"},
    {"test_min_int16", "element type", "INT16 tensors"},
    {"test_min_uint16", "element type", "UINT16 tensors"},
    {"test_min_uint32", "element type", "UINT32 tensors"},
    {"test_min_uint64", "element type", "UINT64 tensors"},
    {"test_pow_types_float32_uint32", "element type", "UINT32 tensors"},
    {"test_pow_types_float32_uint64", "element type", "UINT64 tensors"},
    {"test_range_float_type_positive_delta_expanded", "GRAPH", "Range expanded into a Loop (a GRAPH attribute)"},
    {"test_range_int32_type_negative_delta_expanded", "GRAPH", "Range expanded into a Loop (a GRAPH attribute)"},
    // issue 10: layout, resize, conv-transpose
    {"test_convtranspose_3d", "1-D and 2-D", "3-D ConvTranspose (quantlab runs 1-D and 2-D)"},
};

/// Test-case name prefixes of the operators quantlab implements: every matching case must be
/// in one of the lists above.
const std::vector<std::string> kOperatorPrefixes = {
    "test_add",
    "test_mul",
    "test_relu",
    "test_clip",
    "test_conv_",
    "test_basic_conv",
    "test_convinteger",
    "test_gemm",
    "test_matmul",
    "test_maxpool",
    "test_averagepool",
    "test_globalaveragepool",
    "test_batchnorm",
    "test_softmax",
    // issue 10: activations and reductions
    "test_sigmoid",
    "test_tanh",
    "test_hardsigmoid",
    "test_hardswish",
    "test_leakyrelu",
    "test_prelu",
    "test_elu",
    "test_selu",
    "test_celu",
    "test_softplus",
    "test_softsign",
    "test_thresholdedrelu",
    "test_logsoftmax",
    "test_hardmax",
    "test_reduce_",
    "test_argmax",
    "test_argmin",
    "test_globalmaxpool",
    "test_lrn",
    "test_instancenorm",
    "test_layer_normalization",
    "test_transpose",
    "test_concat",
    "test_flatten",
    "test_reshape",
    "test_identity",
    "test_dropout",
    "test_training_dropout",
    "test_quantizelinear",
    "test_dequantizelinear",
    "test_dynamicquantizelinear",
    "test_qlinear",
    // issue 10: shape ops and arithmetic ("$" ends an exact name: test_log, not test_logsoftmax)
    "test_abs",
    "test_and",
    "test_cast_",
    "test_constantofshape",
    "test_div",
    "test_equal",
    "test_erf",
    "test_exp",
    "test_gather_0",
    "test_gather_1",
    "test_gather_2d",
    "test_gather_negative",
    "test_greater",
    "test_less",
    "test_log$",
    "test_log_",
    "test_max_",
    "test_mean_",
    "test_min_",
    "test_neg",
    "test_not_",
    "test_or",
    "test_pow",
    "test_range",
    "test_reciprocal",
    "test_shape",
    "test_size",
    "test_slice",
    "test_sqrt",
    "test_squeeze",
    "test_sub",
    "test_sum_",
    "test_unsqueeze",
    "test_where",
    "test_xor",
    // issue 10: layout, resize, conv-transpose
    "test_split_",
    "test_tile",
    "test_constant_pad",
    "test_edge_pad",
    "test_reflect_pad",
    "test_depthtospace",
    "test_spacetodepth",
    "test_resize_",
    "test_upsample_",
    "test_convtranspose",
};

// --- Running a case ------------------------------------------------------------------------

struct CaseResult {
  bool ok = false;
  std::string message;
  double max_abs_error = 0.0;
};

std::string case_dir(const std::string& name) { return kOnnxNodeTests + "/" + name; }

Result<OnnxTensor> read_tensor(const std::string& path) {
  const auto bytes = read_file(path);
  if (bytes.empty()) return invalid_argument("cannot read " + path);
  return parse_onnx_tensor(bytes);
}

std::string value_string(const Tensor& t, size_t i) {
  char buf[64];
  switch (t.dtype()) {
    case DType::kFloat32: std::snprintf(buf, sizeof buf, "%.9g", double(t.data<float>()[i])); break;
    case DType::kUInt8: std::snprintf(buf, sizeof buf, "%d", int(t.data<uint8_t>()[i])); break;
    case DType::kInt8: std::snprintf(buf, sizeof buf, "%d", int(t.data<int8_t>()[i])); break;
    case DType::kInt32: std::snprintf(buf, sizeof buf, "%d", t.data<int32_t>()[i]); break;
    case DType::kInt64:
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(t.data<int64_t>()[i]));
      break;
    case DType::kBool: std::snprintf(buf, sizeof buf, "%d", int(t.data<bool>()[i])); break;
  }
  return buf;
}

/// Compares got with want; exact unless both are float32 and !exact.
bool compare(const Tensor& got, const Tensor& want, bool exact, std::string& why, double& max_err) {
  if (got.dtype() != want.dtype()) {
    why = std::string("element type ") + dtype_name(got.dtype()) + ", expected " +
          dtype_name(want.dtype());
    return false;
  }
  if (got.shape() != want.shape()) {
    why = "shape " + shape_string(got.shape()) + ", expected " + shape_string(want.shape());
    return false;
  }
  if (exact || got.dtype() != DType::kFloat32) {
    if (got.bytes() && std::memcmp(got.raw(), want.raw(), got.bytes()) != 0) {
      for (size_t i = 0; i < got.size(); ++i) {
        if (value_string(got, i) != value_string(want, i)) {
          why = "element " + std::to_string(i) + " is " + value_string(got, i) + ", expected " +
                value_string(want, i) + " (bit-exact comparison)";
          break;
        }
      }
      return false;
    }
    return true;
  }
  const auto g = got.data<float>();
  const auto w = want.data<float>();
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::fabs(double(g[i]) - double(w[i]));
    max_err = std::max(max_err, err);
    if (!(err <= kAtol + kRtol * std::fabs(double(w[i])))) {
      why = "element " + std::to_string(i) + " is " + value_string(got, i) + ", expected " +
            value_string(want, i);
      return false;
    }
  }
  return true;
}

CaseResult run_case(const std::string& name, bool exact) {
  CaseResult r;
  const std::string dir = case_dir(name);
  auto model = Model::load(read_file(dir + "/model.onnx"));
  if (!model) {
    r.message = "load: " + model.status().to_string();
    return r;
  }
  int sets = 0;
  for (const std::string& set : list_dir(dir)) {
    if (set.rfind("test_data_set_", 0) != 0) continue;
    ++sets;
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < model->inputs().size(); ++i) {
      auto t = read_tensor(dir + "/" + set + "/input_" + std::to_string(i) + ".pb");
      if (!t) {
        r.message = set + " input " + std::to_string(i) + ": " + t.status().to_string();
        return r;
      }
      inputs.push_back(std::move(t->tensor));
    }
    auto outputs = model->run(inputs);
    if (!outputs) {
      r.message = set + ": run: " + outputs.status().to_string();
      return r;
    }
    for (size_t j = 0; j < outputs->size(); ++j) {
      auto want = read_tensor(dir + "/" + set + "/output_" + std::to_string(j) + ".pb");
      if (!want) {
        r.message = set + " output " + std::to_string(j) + ": " + want.status().to_string();
        return r;
      }
      std::string why;
      if (!compare((*outputs)[j], want->tensor, exact, why, r.max_abs_error)) {
        r.message = set + " output " + std::to_string(j) + ": " + why;
        return r;
      }
    }
  }
  if (sets == 0) {
    r.message = "no test_data_set_* folder";
    return r;
  }
  r.ok = true;
  return r;
}

void require_testdata() {
  if (!file_exists(kOnnxNodeTests)) FAIL(missing_onnx_testdata_message());
}

}  // namespace

TEST_CASE("ONNX conformance: quantization operators match ONNX's outputs bit for bit",
          "[onnx][conformance]") {
  require_testdata();
  int passed = 0;
  for (const std::string& name : kExactCases) {
    INFO(name);
    const CaseResult r = run_case(name, true);
    INFO(r.message);
    CHECK(r.ok);
    passed += r.ok ? 1 : 0;
  }
  std::printf("[onnx conformance] bit-exact quantization cases: %d / %zu pass\n", passed,
              kExactCases.size());
}

TEST_CASE("ONNX conformance: fp32 operators match ONNX's outputs", "[onnx][conformance]") {
  require_testdata();
  int passed = 0;
  double worst = 0.0;
  std::string worst_case;
  for (const std::string& name : kFloatCases) {
    INFO(name);
    const CaseResult r = run_case(name, false);
    INFO(r.message);
    CHECK(r.ok);
    passed += r.ok ? 1 : 0;
    if (r.max_abs_error > worst) {
      worst = r.max_abs_error;
      worst_case = name;
    }
  }
  std::printf("[onnx conformance] fp32 cases: %d / %zu pass (largest error %.3g in %s)\n", passed,
              kFloatCases.size(), worst, worst_case.c_str());
}

TEST_CASE("ONNX conformance: unsupported features fail with a Status that names them",
          "[onnx][conformance][errors]") {
  require_testdata();
  for (const Unsupported& u : kUnsupportedCases) {
    INFO(u.name << " (" << u.reason << ")");
    const CaseResult r = run_case(u.name, false);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.message, Catch::Contains(u.mentions));
  }
}

TEST_CASE("ONNX conformance: every test case of a supported operator is run or listed",
          "[onnx][conformance]") {
  require_testdata();
  std::set<std::string> listed(kExactCases.begin(), kExactCases.end());
  listed.insert(kFloatCases.begin(), kFloatCases.end());
  for (const auto& u : kUnsupportedCases) listed.insert(u.name);
  int matched = 0;
  for (const std::string& name : list_dir(kOnnxNodeTests)) {
    const bool ours = std::any_of(
        kOperatorPrefixes.begin(), kOperatorPrefixes.end(), [&](const std::string& p) {
          if (!p.empty() && p.back() == '$') return name == p.substr(0, p.size() - 1);
          return name.rfind(p, 0) == 0;
        });
    if (!ours) continue;
    ++matched;
    INFO(name << " tests an operator quantlab implements but is neither run nor listed as "
                 "unsupported in tests/onnx/onnx_conformance_test.cpp");
    CHECK(listed.count(name) == 1);
  }
  for (const std::string& name : listed) {
    INFO(name << " is listed but missing from " << kOnnxNodeTests);
    CHECK(file_exists(case_dir(name) + "/model.onnx"));
  }
  CHECK(matched == static_cast<int>(listed.size()));
}

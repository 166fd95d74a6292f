//! Loading an ONNX model with tract and running it on one input tensor.
//!
//! tract runs each inference on the calling thread (its multithreaded matrix products are a
//! feature we leave off): the [`crate::Pool`] gives the parallelism, one inference per worker.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::pb;
use tract_onnx::prelude::*;

use crate::VisionError;

/// A loaded, optimised model with one f32 input of a fixed shape.
pub(crate) struct Net {
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net").field("input_shape", &self.input_shape).finish()
    }
}

impl Net {
    /// Loads `path`, checks it has one input of `input_shape` and `outputs` outputs whose shapes
    /// satisfy `check_outputs`.
    pub(crate) fn load(
        path: &Path,
        input_shape: &[usize],
        check_outputs: impl Fn(&[Vec<usize>]) -> bool,
    ) -> Result<Net, VisionError> {
        if !path.is_file() {
            return Err(VisionError::ModelsMissing(path.to_path_buf()));
        }
        let invalid = |e: &dyn std::fmt::Display| VisionError::ModelInvalid {
            path: path.to_path_buf(),
            reason: format!("{e:#}"),
        };
        let onnx = tract_onnx::onnx();
        let mut proto = onnx.proto_model_for_path(path).map_err(|e| invalid(&e))?;
        patch_constant_of_shape(&mut proto);
        let plan = onnx
            .model_for_proto_model(&proto)
            .and_then(|m| m.with_input_fact(0, f32::fact(input_shape).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| invalid(&e))?;
        let net = Net { plan, input_shape: input_shape.to_vec() };
        let outputs = net
            .run(vec![0.0; input_shape.iter().product()])
            .map_err(|e| invalid(&e))?
            .into_iter()
            .map(|(shape, _)| shape)
            .collect::<Vec<_>>();
        if !check_outputs(&outputs) {
            return Err(invalid(&format!("unexpected output shapes {outputs:?}")));
        }
        Ok(net)
    }

    /// Runs the model on `input` (laid out as the input shape); each output as (shape, values).
    pub(crate) fn run(&self, input: Vec<f32>) -> TractResult<Vec<(Vec<usize>, Vec<f32>)>> {
        let tensor = Tensor::from_shape(&self.input_shape, &input)?;
        let outputs = self.plan.run(tvec!(tensor.into()))?;
        outputs
            .iter()
            .map(|o| {
                let view = o.to_plain_array_view::<f32>()?;
                Ok((view.shape().to_vec(), view.iter().copied().collect()))
            })
            .collect()
    }
}

/// ONNX says a `ConstantOfShape` without a `value` makes f32 zeros; tract 0.23 makes f64 ones,
/// which breaks the BlazeFace export (tf2onnx 1.7). Give such nodes their default explicitly.
fn patch_constant_of_shape(proto: &mut pb::ModelProto) {
    let Some(graph) = proto.graph.as_mut() else { return };
    for node in graph.node.iter_mut() {
        if node.op_type == "ConstantOfShape" && !node.attribute.iter().any(|a| a.name == "value") {
            let zero = pb::TensorProto {
                dims: vec![1],
                data_type: pb::tensor_proto::DataType::Float as i32,
                float_data: vec![0.0],
                ..Default::default()
            };
            node.attribute.push(pb::AttributeProto {
                name: "value".into(),
                r#type: pb::attribute_proto::AttributeType::Tensor as i32,
                t: Some(zero),
                ..Default::default()
            });
        }
    }
}

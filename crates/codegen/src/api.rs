//! Emits `api.rs`: `SERVICE_ID`, the `Operation` enum, the handler trait with one
//! not-implemented-by-default method per operation, `dispatch` and `probe_implemented`.

use std::fmt::Write as _;

use anyhow::Result;

use crate::model::{Model, Operation};
use crate::naming::{doc_line, snake_case};
use crate::services::ServiceSpec;
use crate::types::TypeTable;

/// The body of `api.rs` (after the header).
pub fn emit(model: &Model, spec: &ServiceSpec, table: &TypeTable) -> Result<String> {
    let meta = &model.metadata;
    let t = spec.trait_name;
    let ops: Vec<&Operation> = model.operations.values().collect();
    let mut out = String::new();

    writeln!(
        out,
        "//! The {} operations: the `Operation` enum, the `{t}` handler trait and JSON dispatch.\n",
        meta.service_id
    )?;
    writeln!(out, "use ecsim_protocol::AwsError;\n\nuse super::types;\n")?;
    writeln!(
        out,
        "/// The model's `serviceId`.\npub const SERVICE_ID: &str = {:?};\n",
        meta.service_id
    )?;

    // The Operation enum.
    writeln!(out, "/// Every generated {} operation.", meta.service_id)?;
    writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\npub enum Operation {{"
    )?;
    for op in &ops {
        writeln!(out, "{},", op.name)?;
    }
    writeln!(out, "}}\n")?;
    writeln!(out, "impl Operation {{")?;
    writeln!(
        out,
        "/// All operations, sorted by name.\npub const ALL: &'static [Operation] = &["
    )?;
    for op in &ops {
        writeln!(out, "Operation::{},", op.name)?;
    }
    writeln!(out, "];\n")?;
    writeln!(
        out,
        "/// The operation name on the wire.\npub fn name(self) -> &'static str {{\nmatch self {{"
    )?;
    for op in &ops {
        writeln!(out, "Operation::{0} => {0:?},", op.name)?;
    }
    writeln!(out, "}}\n}}\n")?;
    writeln!(
        out,
        "/// The operation with this wire name.\npub fn from_name(name: &str) -> Option<Self> {{\nmatch name {{"
    )?;
    for op in &ops {
        writeln!(out, "{0:?} => Some(Operation::{0}),", op.name)?;
    }
    writeln!(out, "_ => None,\n}}\n}}\n}}\n")?;
    writeln!(
        out,
        "impl std::fmt::Display for Operation {{\n\
         fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n\
         f.write_str(self.name())\n}}\n}}\n"
    )?;

    // The handler trait.
    writeln!(
        out,
        "/// A {} implementation: one method per operation. Every method defaults to\n\
         /// `AwsError::not_implemented`, so an implementation overrides only what it serves.",
        meta.service_id
    )?;
    writeln!(out, "pub trait {t} {{")?;
    for op in &ops {
        let method = snake_case(&op.name);
        writeln!(
            out,
            "/// `{}`: {}",
            op.name,
            doc_line(op.documentation.as_deref(), "no model documentation.")
        )?;
        let output = output_type(op, table);
        match &op.input {
            Some(input) => writeln!(
                out,
                "fn {method}(&mut self, input: types::{}) -> Result<{output}, AwsError> {{\nlet _ = input;",
                table.name(input)
            )?,
            None => writeln!(out, "fn {method}(&mut self) -> Result<{output}, AwsError> {{")?,
        }
        writeln!(
            out,
            "Err(AwsError::not_implemented(SERVICE_ID, {:?}))\n}}\n",
            op.name
        )?;
    }
    writeln!(out, "}}\n")?;

    // dispatch.
    writeln!(
        out,
        "/// Runs `operation` on `api` with a JSON input whose keys are the model member names, and\n\
         /// returns the output as JSON the same way. A `null` input counts as `{{}}`; an input that does\n\
         /// not fit the operation's input type is a `SerializationException`."
    )?;
    writeln!(
        out,
        "pub fn dispatch<A: {t} + ?Sized>(api: &mut A, operation: Operation, input: serde_json::Value) \
         -> Result<serde_json::Value, AwsError> {{\nmatch operation {{"
    )?;
    for op in &ops {
        let method = snake_case(&op.name);
        let call = match &op.input {
            Some(_) => format!("api.{method}(decode(input)?)?"),
            None => format!("{{\nlet _ = input;\napi.{method}()?\n}}"),
        };
        match &op.output {
            Some(_) => writeln!(out, "Operation::{} => encode(&{call}),", op.name)?,
            None => writeln!(
                out,
                "Operation::{} => {{\n{call};\nOk(serde_json::Value::Object(Default::default()))\n}}",
                op.name
            )?,
        }
    }
    writeln!(out, "}}\n}}\n")?;

    // probe_implemented.
    writeln!(
        out,
        "/// Whether `api` implements `operation`: calls it with a default input and reports `false` only\n\
         /// for a `NotImplemented` answer."
    )?;
    writeln!(
        out,
        "pub fn probe_implemented<A: {t} + ?Sized>(api: &mut A, operation: Operation) -> bool {{\n\
         let result: Result<(), AwsError> = match operation {{"
    )?;
    for op in &ops {
        let method = snake_case(&op.name);
        let args = if op.input.is_some() {
            "Default::default()"
        } else {
            ""
        };
        let map = if op.output.is_some() { ".map(|_| ())" } else { "" };
        writeln!(out, "Operation::{} => api.{method}({args}){map},", op.name)?;
    }
    writeln!(
        out,
        "}};\n!matches!(result, Err(e) if e.is_not_implemented())\n}}\n"
    )?;

    // Helpers.
    writeln!(
        out,
        "fn decode<T: serde::de::DeserializeOwned>(input: serde_json::Value) -> Result<T, AwsError> {{\n\
         let input = if input.is_null() {{ serde_json::Value::Object(Default::default()) }} else {{ input }};\n\
         serde_json::from_value(input).map_err(|e| AwsError::client(\"SerializationException\", e.to_string()))\n}}\n"
    )?;
    writeln!(
        out,
        "fn encode<T: serde::Serialize>(output: &T) -> Result<serde_json::Value, AwsError> {{\n\
         serde_json::to_value(output).map_err(|e| AwsError::server(\"InternalFailure\", e.to_string()))\n}}"
    )?;
    Ok(out)
}

fn output_type(op: &Operation, table: &TypeTable) -> String {
    match &op.output {
        Some(output) => format!("types::{}", table.name(output)),
        None => "()".to_owned(),
    }
}

//! `ecsim-codegen`: generates the `ecsim-api` crate (types, schemas, operation enums and handler
//! traits) from the botocore service models.
//!
//! ```text
//! cargo run -p ecsim-codegen                 # regenerate crates/api/src
//! cargo run -p ecsim-codegen -- --check      # exit 1 if the committed files are out of date
//! cargo run -p ecsim-codegen -- --models DIR # read the models from DIR/<service>/service-2.json
//! ```

mod api;
mod model;
mod naming;
mod output;
mod schema;
mod services;
mod types;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::model::Model;
use crate::output::Files;
use crate::services::{SERVICES, ServiceSpec};
use crate::types::TypeTable;

struct Args {
    models: PathBuf,
    check: bool,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

fn parse_args() -> Result<Args> {
    let root = workspace_root();
    let mut args = Args {
        models: root.join("..").join("shared").join("aws-models"),
        check: false,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--check" => args.check = true,
            "--models" => args.models = argv.next().context("--models needs a directory")?.into(),
            "-h" | "--help" => {
                println!(
                    "usage: ecsim-codegen [--check] [--models DIR]\n\n\
                     Generates crates/api from DIR/<service>/service-2.json (default: <workspace>/../shared/aws-models).\n\
                     --check compares instead of writing and exits 1 when a file differs."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (try --help)"),
        }
    }
    Ok(args)
}

fn header(what: &str) -> String {
    format!(
        "{} from the botocore model {what}. Do not edit; run `cargo run -p ecsim-codegen` to regenerate.\n",
        output::GENERATED_MARKER
    )
}

/// Generates the four files of one service module. Returns them and the model's API version.
fn generate_service(
    spec: &ServiceSpec,
    models: &Path,
    rustfmt: &dyn Fn(&str) -> Result<String>,
) -> Result<(Files, String)> {
    let mut model = Model::load(&models.join(spec.model_dir))?;
    model
        .restrict(spec.operations)
        .with_context(|| format!("restricting {}", spec.model_dir))?;
    let table = TypeTable::new(&model, &[spec.trait_name, "SCHEMA", "SERVICE_ID"]);
    let head = header(&format!("{} {}", spec.model_dir, model.metadata.api_version));

    let module_doc = format!(
        "//! {} (`{}`, API version {}): generated types, wire schema, operation enum and handler trait.\n\n\
         #![allow(clippy::all, clippy::pedantic, clippy::nursery, non_camel_case_types, non_snake_case, dead_code)]\n\n",
        model.metadata.service_id, spec.model_dir, model.metadata.api_version
    );
    let mod_rs = format!(
        "{module_doc}\
         pub mod api;\npub mod schema;\npub mod types;\n\n\
         pub use api::{{{}, Operation, SERVICE_ID, dispatch, probe_implemented}};\n\
         pub use schema::SCHEMA;\npub use types::*;\n",
        spec.trait_name
    );
    let dir = PathBuf::from("src").join(spec.module);
    let mut files = Files::new();
    for (name, body) in [
        ("mod.rs", mod_rs),
        ("types.rs", types::emit(&model, &table)?),
        ("schema.rs", schema::emit(&model, spec)?),
        ("api.rs", api::emit(&model, spec, &table)?),
    ] {
        let path = dir.join(name);
        let text =
            rustfmt(&format!("{head}{body}")).with_context(|| format!("formatting {}", path.display()))?;
        files.insert(path, text);
    }
    Ok((files, model.metadata.api_version))
}

fn lib_rs(versions: &[(&ServiceSpec, String)]) -> String {
    let models = versions
        .iter()
        .map(|(s, v)| format!("{} {v}", s.model_dir))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = format!(
        "{} from the botocore models {models}. Do not edit; run `cargo run -p ecsim-codegen` to regenerate.\n",
        output::GENERATED_MARKER
    );
    out.push_str(
        "//! Generated AWS API types, schemas, operation enums and handler traits for ecsim; no behaviour.\n//!\n\
         //! One module per service, each with `types` (the shapes as serde structs and enums, keyed by the\n\
         //! model member names), `schema` (the `ServiceSchema` the protocol codecs walk), and `api` (the\n\
         //! `Operation` enum, the handler trait whose methods default to `NotImplemented`, `dispatch` and\n\
         //! `probe_implemented`).\n\n",
    );
    for (spec, _) in versions {
        out.push_str(&format!("pub mod {};\n", spec.module));
    }
    out.push_str("\n/// Every generated service schema.\npub static SERVICES: &[&ecsim_protocol::schema::ServiceSchema] = &[");
    for (spec, _) in versions {
        out.push_str(&format!("&{}::SCHEMA, ", spec.module));
    }
    out.push_str("];\n");
    out
}

fn run() -> Result<bool> {
    let args = parse_args()?;
    let root = workspace_root();
    let config = root.join("rustfmt.toml");
    let fmt = |source: &str| output::rustfmt(source, &config);
    let mut files = Files::new();
    let mut versions = Vec::new();
    for spec in SERVICES {
        let (service_files, version) = generate_service(spec, &args.models, &fmt)
            .with_context(|| format!("generating {}", spec.module))?;
        files.extend(service_files);
        versions.push((spec, version));
    }
    files.insert(
        PathBuf::from("src").join("lib.rs"),
        fmt(&lib_rs(&versions)).context("formatting lib.rs")?,
    );

    let out_dir = root.join("crates").join("api");
    if args.check {
        let differ = output::check(&out_dir, &files)?;
        for (path, why) in &differ {
            println!("{why}: {}", out_dir.join(path).display());
        }
        if differ.is_empty() {
            println!("ecsim-codegen: {} generated files are up to date", files.len());
        }
        Ok(differ.is_empty())
    } else {
        let (written, removed) = output::write(&out_dir, &files)?;
        println!(
            "ecsim-codegen: {} files generated, {written} written, {removed} stale removed, in {}",
            files.len(),
            out_dir.display()
        );
        Ok(true)
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ecsim-codegen: {e:#}");
            ExitCode::from(2)
        }
    }
}

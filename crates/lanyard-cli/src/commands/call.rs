//! `lanyard call NAME|URL TOOL [--args JSON] [--ephemeral] [add flags]`.

use lanyard_core::api::{FlowError, Lanyard};
use serde_json::Value;

use super::common::SignInFlags;
use crate::output;

/// Call one tool. With a saved server's name: uses its tokens. With a URL: runs the whole flow
/// (discover, client id, sign in, tools/list, the call); `--ephemeral` keeps everything in
/// memory (nothing saved, keychain untouched).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A saved server's name, or an MCP server URL.
    pub target: String,
    /// The tool's name.
    pub tool: String,
    /// The tool's arguments as a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub args: String,
    /// With a URL: save nothing (no state file, no keychain).
    #[arg(long)]
    pub ephemeral: bool,
    #[command(flatten)]
    pub flags: SignInFlags,
    /// Print the whole tools/call result as JSON (default: its text content).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let tool_args: Value =
        serde_json::from_str(&args.args).map_err(|e| FlowError::BadArgs(e.to_string()))?;
    if !tool_args.is_object() {
        return Err(FlowError::BadArgs("not an object".into()).into());
    }
    let is_url = args.target.contains("://");
    let result = if is_url && args.ephemeral {
        let lanyard = Lanyard::ephemeral().with_paste_back(output::paste_back());
        let opts = args.flags.to_options()?;
        lanyard
            .call_url(&args.target, &args.tool, tool_args, opts, &output::progress)
            .await?
    } else if args.ephemeral {
        return Err(FlowError::Ephemeral.into());
    } else {
        let lanyard = Lanyard::open()?.with_paste_back(output::paste_back());
        let name = if is_url {
            let url = args.target.trim_end_matches('/');
            match lanyard
                .list()?
                .into_iter()
                .find(|s| s.url.trim_end_matches('/') == url)
            {
                Some(s) => s.name,
                None => {
                    let opts = args.flags.to_options()?;
                    lanyard
                        .add(&args.target, opts, &output::progress)
                        .await?
                        .name
                }
            }
        } else {
            args.target.clone()
        };
        lanyard
            .call(&name, &args.tool, tool_args, &output::progress_quiet)
            .await?
    };
    print_result(&result, args.json)
}

fn print_result(result: &Value, json: bool) -> lanyard_core::Result<()> {
    if json {
        output::json(result);
    } else {
        let mut printed = false;
        if let Some(items) = result.get("content").and_then(|c| c.as_array()) {
            for item in items {
                if let Some(t) = item.get("text").and_then(|t| t.as_str()) {
                    println!("{t}");
                    printed = true;
                }
            }
        }
        if !printed {
            output::json(result);
        }
    }
    if result.get("isError").and_then(|e| e.as_bool()) == Some(true) {
        return Err(FlowError::ToolFailed.into());
    }
    Ok(())
}

//! `lanyard token NAME [--json|--header|--claude-headers]` answered by an agent before anything
//! else starts: no argument parser, async runtime or logger. Assistants run this headers helper
//! on every connection, ten at once when they start together, so its process start is what a
//! burst waits for (bench/agent-socket). Whatever this path does not cover — other arguments,
//! `RUST_LOG`, no agent, a local engine that does not answer — goes the normal way, which asks
//! the agent again and then reads the keychain.

use std::ffi::OsString;
use std::process::ExitCode;

use lanyard_core::agent::{Agent, Found};

use crate::commands::token;

/// The exit code when an agent settled the call, `None` to run the command the normal way.
pub fn serve(args: impl IntoIterator<Item = OsString>) -> Option<ExitCode> {
    if std::env::var_os("RUST_LOG").is_some() {
        return None;
    }
    let args = parse(args)?;
    let (agent, forwarded) = match Agent::find_for_user() {
        Found::Forwarded(agent) => (agent, true),
        Found::Local(agent) => (agent, false),
        Found::None => return None,
    };
    let answered = match agent.token_blocking(&args.name) {
        Ok(g) => token::answer(
            &args,
            &g.token,
            g.expires_at,
            &g.header_name,
            &g.header_value,
        ),
        // A forwarded agent's answer is final: this machine has nothing else to ask.
        Err(e) if forwarded => Err(e.into()),
        Err(_) => return None,
    };
    Some(match answered {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.paragraph());
            ExitCode::from(1)
        }
    })
}

/// `token NAME` with at most one format flag, else `None` (clap reads it).
fn parse(args: impl IntoIterator<Item = OsString>) -> Option<token::Args> {
    let mut args = args.into_iter().skip(1);
    if args.next()? != "token" {
        return None;
    }
    let mut parsed = token::Args {
        name: String::new(),
        json: false,
        header: false,
        claude_headers: false,
    };
    let mut flags = 0;
    for arg in args {
        let arg = arg.into_string().ok()?;
        let flag = match arg.as_str() {
            "--json" => &mut parsed.json,
            "--header" => &mut parsed.header,
            "--claude-headers" => &mut parsed.claude_headers,
            _ if arg.starts_with('-') || !parsed.name.is_empty() => return None,
            _ => {
                parsed.name = arg;
                continue;
            }
        };
        *flag = true;
        flags += 1;
    }
    (!parsed.name.is_empty() && flags <= 1).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Option<token::Args> {
        parse(
            std::iter::once("lanyard")
                .chain(args.iter().copied())
                .map(OsString::from),
        )
    }

    #[test]
    fn a_name_with_at_most_one_format_flag_takes_the_fast_path() {
        let a = parsed(&["token", "docs"]).unwrap();
        assert_eq!(a.name, "docs");
        assert!(!a.json && !a.header && !a.claude_headers);
        assert!(
            parsed(&["token", "--claude-headers", "docs"])
                .unwrap()
                .claude_headers
        );
        assert!(parsed(&["token", "docs", "--json"]).unwrap().json);
    }

    #[test]
    fn anything_else_is_left_to_the_argument_parser() {
        for args in [
            &["token"][..],
            &["token", "--help"],
            &["token", "docs", "--json", "--header"],
            &["token", "docs", "other"],
            &["token", "--", "docs"],
            &["tokens", "docs"],
            &["list"],
        ] {
            assert!(parsed(args).is_none(), "{args:?}");
        }
    }
}

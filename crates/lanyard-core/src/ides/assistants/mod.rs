//! One file per assistant: where it keeps its MCP servers, what Lanyard's entry looks like in each
//! mode, how it is detected and how its CLI judges an entry. Adding an assistant is one new file
//! here implementing [`spec::Assistant`] plus one line in [`crate::ides::with_assistants!`]'s list
//! (which also makes the [`Ide`] variant, its id, name and place in [`Ide::ALL`]).

pub mod spec;

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::adapter::{Detection, EntryParams, IdeEnv, Location, non_empty};
use super::{Ide, IdeError, Mode, Scope};
use spec::Assistant;

macro_rules! dispatch {
    ($($variant:ident = $id:literal, $label:literal => $module:ident :: $imp:ident,)*) => {
        $(pub mod $module;)*

        impl Ide {
            /// The assistant's own file.
            pub fn assistant(self) -> &'static dyn Assistant {
                match self {
                    $(Ide::$variant => &$module::$imp,)*
                }
            }
        }
    };
}

crate::ides::with_assistants!(dispatch);

impl Ide {
    /// The assistant's CLI, if installed (`LANYARD_CLAUDE_BIN` and the like override the `PATH` search).
    pub fn cli(self, env: &IdeEnv) -> Option<PathBuf> {
        let (var, bin) = self.assistant().cli();
        non_empty(var)
            .filter(|p| super::adapter::is_executable(p))
            .or_else(|| env.which(bin))
    }

    /// The file (and container in it) for a scope.
    pub fn location(self, env: &IdeEnv, scope: &Scope) -> Result<Location, IdeError> {
        let Some(place) = self.assistant().place(env, scope) else {
            return Err(IdeError::ScopeUnsupported {
                ide: self,
                scope: scope.kind(),
            });
        };
        Ok(Location {
            ide: self,
            scope: scope.clone(),
            file: place.file,
            container: place.container,
            format: place.format,
        })
    }

    /// The keys of an entry that Lanyard owns; any other key a user adds to our entry is kept.
    pub fn managed_keys(self) -> &'static [&'static str] {
        self.assistant().managed_keys()
    }

    /// The mode used when none is asked for.
    pub fn default_mode(self) -> Mode {
        self.assistant().default_mode()
    }

    /// Whether the assistant is installed: its CLI on PATH or its config folder present.
    pub fn detect(self, env: &IdeEnv) -> Detection {
        let cli = self.cli(env);
        let config_present = self.assistant().config_present(env);
        Detection {
            ide: self,
            installed: cli.is_some() || config_present,
            cli,
            config_present,
        }
    }

    /// Our entry for a server in a mode (only the managed keys).
    pub fn entry(self, p: &EntryParams) -> Result<Map<String, Value>, IdeError> {
        let v = self
            .assistant()
            .entry(p)
            .map_err(|why| IdeError::ModeUnsupported {
                ide: self,
                mode: p.mode.mode(),
                why,
            })?;
        Ok(v.as_object().cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;
    use url::Url;

    use super::*;
    use crate::ides::ModeParams;

    #[test]
    fn helper_command_is_quoted() {
        let p = EntryParams {
            name: "gw".into(),
            url: Url::parse("https://gw.example/mcp").unwrap(),
            lanyard: PathBuf::from("/Applications/Lanyard App/lanyard"),
            mode: ModeParams::Helper,
        };
        let e = Ide::Claude.entry(&p).unwrap();
        assert_eq!(
            e["headersHelper"],
            json!("'/Applications/Lanyard App/lanyard' token gw --claude-headers")
        );
        assert!(Ide::Cursor.entry(&p).is_err());
    }
}

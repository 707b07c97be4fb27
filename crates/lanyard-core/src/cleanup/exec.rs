//! Running a plan: each item in order, its outcome reported as it happens.

use serde::Serialize;

use super::outcome::Outcome;
use super::plan::{Item, Plan};
use super::{Cleanup, CleanupError, Purpose};

/// Whether a progress callback is about an item starting or finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepPhase {
    Started,
    Finished,
}

/// One item of a run, as reported to the progress callback and in the [`Report`].
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// 1-based position in the plan.
    pub index: usize,
    pub total: usize,
    pub phase: StepPhase,
    pub item: Item,
    pub description: String,
    /// `None` while the item runs.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

impl Step {
    /// How a finished item reads in a report: `[2/7] done: Delete the OAuth client …`, then
    /// the detail on an indented line when it matters (failed, left, kept, already gone).
    /// `None` for an item that has only started.
    pub fn report_line(&self) -> Option<String> {
        if self.phase != StepPhase::Finished {
            return None;
        }
        let o = self.outcome.as_ref()?;
        let mut line = format!(
            "[{}/{}] {}: {}",
            self.index,
            self.total,
            o.label(),
            self.description
        );
        let show = !matches!(o, Outcome::Done { .. });
        if let Some(d) = o.detail().filter(|_| show) {
            line.push_str(&format!("\n      {d}"));
        }
        Some(line)
    }
}

/// The result of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub steps: Vec<Step>,
    /// Items not finished (failed, kept, left for an admin or at the identity provider).
    pub left: usize,
    /// Nothing is left: every item is done or was already gone.
    pub complete: bool,
    /// Everything on this machine is done (nothing failed or was kept); what is left, if
    /// anything, stays at identity providers and is listed in `remote_leftovers`.
    pub local_complete: bool,
    /// What stays at identity providers: tokens not revoked (until when), clients not deleted
    /// (client id and issuer).
    pub remote_leftovers: Vec<String>,
}

impl Report {
    /// Items that failed (a later run retries them).
    pub fn failed(&self) -> Vec<&Step> {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, Some(Outcome::Failed { .. })))
            .collect()
    }

    /// `Ok` when nothing is left; [`CleanupError::RemoteLeftovers`] when only things at
    /// identity providers are (exit 3); otherwise [`CleanupError::Incomplete`] (exit 1).
    pub fn into_result(self) -> Result<Report, CleanupError> {
        let failed: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s.outcome,
                    Some(Outcome::Failed { .. }) | Some(Outcome::Kept { .. })
                )
            })
            .collect();
        if !failed.is_empty() {
            // Name the items that failed (the kept ones only wait for them).
            let summary = failed
                .iter()
                .filter(|s| matches!(s.outcome, Some(Outcome::Failed { .. })))
                .map(|s| s.description.clone())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(CleanupError::Incomplete {
                failed: failed.len(),
                total: self.steps.len(),
                summary,
            });
        }
        if !self.remote_leftovers.is_empty() {
            return Err(CleanupError::RemoteLeftovers {
                items: self.remote_leftovers,
            });
        }
        Ok(self)
    }
}

impl Cleanup {
    /// Run `plan` item by item. Never stops early: an item that fails is reported and the ones
    /// that do not depend on it still run; the ones that do are kept for the next run.
    pub async fn execute(&self, plan: &Plan, progress: &(dyn Fn(&Step) + Send + Sync)) -> Report {
        let total = plan.items.len();
        let mut steps: Vec<Step> = Vec::with_capacity(total);
        for (i, item) in plan.items.iter().enumerate() {
            let mut step = Step {
                index: i + 1,
                total,
                phase: StepPhase::Started,
                item: item.clone(),
                description: item.describe(),
                outcome: None,
            };
            progress(&step);
            let outcome = self.run_item(item, &steps, plan.purpose).await;
            step.phase = StepPhase::Finished;
            step.outcome = Some(outcome);
            progress(&step);
            steps.push(step);
        }
        let left = steps
            .iter()
            .filter(|s| s.outcome.as_ref().is_some_and(Outcome::is_left))
            .count();
        let local_complete = !steps.iter().any(|s| {
            matches!(
                s.outcome,
                Some(Outcome::Failed { .. }) | Some(Outcome::Kept { .. })
            )
        });
        let remote_leftovers = steps
            .iter()
            .filter_map(|s| match &s.outcome {
                Some(o @ (Outcome::LeftForAdmin { .. } | Outcome::LeftRemote { .. })) => Some(
                    format!("{}: {}", s.description, o.detail().unwrap_or_default()),
                ),
                _ => None,
            })
            .collect();
        Report {
            steps,
            left,
            complete: left == 0,
            local_complete,
            remote_leftovers,
        }
    }

    async fn run_item(&self, item: &Item, before: &[Step], purpose: Purpose) -> Outcome {
        let failed_before = |pred: &dyn Fn(&Item) -> bool| {
            before.iter().any(|s| {
                pred(&s.item)
                    && matches!(
                        s.outcome,
                        Some(Outcome::Failed { .. }) | Some(Outcome::Kept { .. })
                    )
            })
        };
        match item {
            Item::StopEngine { pid } => super::local::stop_engine(self.paths.dir(), *pid).await,
            Item::RevokeTokens { server, .. } => self.revoke_tokens(server).await,
            Item::EndIdpSession { issuer, .. } => self.end_idp_session(issuer).await,
            Item::DeleteClient { issuer, .. } | Item::ClientForAdmin { issuer, .. } => {
                // Its tokens must be revoked first: once the client is gone they cannot be.
                let st = self.state_file().load().unwrap_or_default();
                let users = url::Url::parse(issuer)
                    .map(|u| super::plan::users_of(&st, &u))
                    .unwrap_or_default();
                let waiting: Vec<String> = before
                    .iter()
                    .filter_map(|s| match (&s.item, &s.outcome) {
                        (Item::RevokeTokens { server, .. }, Some(Outcome::Failed { .. }))
                            if users.contains(server) =>
                        {
                            Some(server.clone())
                        }
                        _ => None,
                    })
                    .collect();
                if !waiting.is_empty() {
                    return Outcome::Kept {
                        why: format!(
                            "kept until the tokens of {} are revoked (they could not be revoked once the client is gone)",
                            waiting.join(", ")
                        ),
                    };
                }
                let out = self.delete_client(issuer, purpose).await;
                match out {
                    // `--force`: the client stays at the IdP; forget it here and list it.
                    Outcome::Failed { why, .. } if self.force && purpose == Purpose::Uninstall => {
                        self.give_up_registration(issuer, &why)
                    }
                    other => other,
                }
            }
            Item::RemoveIdeEntry { server, ide, .. } => self.remove_ide_entry(server, *ide),
            Item::DeleteKeychainItems { service, .. } => self.delete_keychain_items(service),
            Item::DeleteAutostartValue { key, value } => {
                super::local::delete_registry_value(key, value)
            }
            Item::RemoveLinkAssociation { file } => super::desktop::remove_association(file),
            Item::DeleteLinkHandler { path } => super::desktop::delete_handler_entry(path),
            Item::DeleteCommandLink { path, .. } => {
                super::desktop::delete_command_link(path, &self.user_dirs.app_dirs)
            }
            Item::DeleteAutostart { paths } | Item::DeleteAppData { paths } => {
                super::local::delete_paths(paths)
            }
            Item::DeleteStateDir { path } => {
                if failed_before(&|_| true) {
                    return Outcome::Kept {
                        why: "kept because other items are not finished: it records what is left to do".into(),
                    };
                }
                super::local::delete_dir(path)
            }
        }
    }
}

impl Cleanup {
    /// Plan and run a whole uninstall, reporting each item before and after it runs.
    /// This is what the tray's "Remove everything and quit…" calls.
    pub async fn uninstall(
        &self,
        progress: &(dyn Fn(&Step) + Send + Sync),
    ) -> Result<Report, crate::Error> {
        let plan = self.plan(Purpose::Uninstall)?;
        Ok(self.execute(&plan, progress).await)
    }

    /// Delete this machine's registrations that no server uses any more (RFC 7592).
    pub async fn prune(
        &self,
        progress: &(dyn Fn(&Step) + Send + Sync),
    ) -> Result<Report, crate::Error> {
        let plan = self.plan(Purpose::Prune)?;
        Ok(self.execute(&plan, progress).await)
    }
}

/// For the tray's "Remove everything and quit…": the current user's whole uninstall, with a
/// callback per item (called when an item starts and when it has its outcome). Stop the
/// background engine first, so it does not refresh tokens while they are being revoked.
pub async fn remove_everything(
    progress: &(dyn Fn(&Step) + Send + Sync),
) -> Result<Report, crate::Error> {
    Cleanup::for_user()?.uninstall(progress).await
}

//! The workload identity token: a JWT the platform writes to a file and rotates (Kubernetes
//! projected service account tokens, a CI job's OIDC token saved by a step, SPIFFE JWT-SVIDs),
//! read again at every token request.

use std::path::{Path, PathBuf};

use base64::Engine;

use crate::error::UserFacing;

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("Lanyard could not read the workload identity token file {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("the workload identity token file {path} does not hold a JWT")]
    NotJwt { path: PathBuf },
    #[error("the workload identity token in {path} expired {ago} s ago")]
    Expired { path: PathBuf, ago: i64 },
}

impl UserFacing for WorkloadError {
    fn code(&self) -> &'static str {
        match self {
            WorkloadError::Read { .. } => "machine.workload-token-read",
            WorkloadError::NotJwt { .. } => "machine.workload-token-not-jwt",
            WorkloadError::Expired { .. } => "machine.workload-token-expired",
        }
    }
    fn next_step(&self) -> String {
        match self {
            WorkloadError::Read { .. } => "Check that the platform mounts the token there (a projected volume, a CI step that writes it) and that this user may read it.".into(),
            WorkloadError::NotJwt { .. } => "Point --workload-token-file at the file holding the identity token itself (three base64url parts separated by dots), not a directory or a config file.".into(),
            WorkloadError::Expired { .. } => "The platform stopped rotating the token: check the agent that writes it (kubelet projected volume, the CI step), then try again.".into(),
        }
    }
}

/// The token in `path`, trimmed; refused when it is not a JWT or its `exp` has passed (an AS
/// would only answer `invalid_grant`, without saying why).
pub fn read_token(path: &Path, now: i64) -> Result<String, WorkloadError> {
    let text = std::fs::read_to_string(path).map_err(|e| WorkloadError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let token = text.trim();
    let claims = token
        .split('.')
        .nth(1)
        .filter(|_| token.split('.').count() == 3)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .ok_or_else(|| WorkloadError::NotJwt {
            path: path.to_path_buf(),
        })?;
    if let Some(exp) = claims.get("exp").and_then(|e| e.as_i64())
        && exp <= now
    {
        return Err(WorkloadError::Expired {
            path: path.to_path_buf(),
            ago: now - exp,
        });
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        let b = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.c2ln",
            b(&serde_json::json!({"alg": "RS256"})),
            b(&claims)
        )
    }

    #[test]
    fn the_token_is_read_again_from_the_file_each_time_it_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        let first = jwt(serde_json::json!({"sub": "a", "exp": 2_000}));
        std::fs::write(&p, format!("{first}\n")).unwrap();
        assert_eq!(read_token(&p, 1_000).unwrap(), first);
        let second = jwt(serde_json::json!({"sub": "b", "exp": 3_000}));
        std::fs::write(&p, &second).unwrap();
        assert_eq!(read_token(&p, 2_500).unwrap(), second);
    }

    #[test]
    fn an_expired_missing_or_non_jwt_token_is_refused_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, jwt(serde_json::json!({"exp": 1_000}))).unwrap();
        assert_eq!(
            read_token(&p, 1_060).unwrap_err().code(),
            "machine.workload-token-expired"
        );
        std::fs::write(&p, "not a jwt").unwrap();
        assert_eq!(
            read_token(&p, 0).unwrap_err().code(),
            "machine.workload-token-not-jwt"
        );
        assert_eq!(
            read_token(&dir.path().join("absent"), 0)
                .unwrap_err()
                .code(),
            "machine.workload-token-read"
        );
    }
}

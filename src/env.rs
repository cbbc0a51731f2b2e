//! Credential names as environment variables, for `svault exec` whether the values
//! come from the vault file or from the agent: one mapping, one set of refusals.
//!
//! Without `--env`, every credential whose name makes a valid variable is set: the name
//! upper-cased, every character other than a letter or digit turned into `_`
//! (`db/password` → `DB_PASSWORD`); names that would start with a digit are skipped.
//! The whole command is refused when two names give the same variable, or when a name
//! gives a variable that changes how a program is loaded or run ([`is_dangerous`]):
//! `ld/preload` must not silently become `LD_PRELOAD`. Naming the variable with
//! `--env VAR=NAME` is the explicit choice that allows it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::secret::SecretBytes;

/// One variable to set: `var` gets the value of credential `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The environment variable.
    pub var: String,
    /// The credential's name.
    pub name: String,
}

/// The credentials cannot be put in the environment as asked; nothing is run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// An `--env` argument is not `VAR=NAME` with a valid variable name.
    #[error(
        "--env takes VAR=NAME with VAR made of letters, digits and '_' (not starting with a digit), not '{0}'"
    )]
    Spec(String),
    /// Two `--env` arguments set the same variable.
    #[error("--env sets ${var} twice ('{first}' and '{second}'); give each variable once")]
    Twice {
        /// The variable.
        var: String,
        /// The first credential named for it.
        first: String,
        /// The second.
        second: String,
    },
    /// Two credential names give the same variable.
    #[error(
        "credentials '{first}' and '{second}' would both be ${var}; nothing was run: name the ones you need with --env VAR=NAME"
    )]
    Collision {
        /// The variable.
        var: String,
        /// The first credential.
        first: String,
        /// The second.
        second: String,
    },
    /// A credential's name gives a variable that changes how programs load or run.
    #[error(
        "credential '{name}' would set ${var}, which changes how programs are loaded or run; nothing was run: if that is meant, say so with --env {var}={name}, else name the credentials you need with --env VAR=NAME"
    )]
    Dangerous {
        /// The variable.
        var: String,
        /// The credential.
        name: String,
    },
    /// A value holds a NUL byte, which the environment cannot carry.
    #[error("'{0}' holds a NUL byte, so it cannot go in the environment; nothing was run")]
    Nul(String),
}

/// The variable a credential gets by default, if its name makes a valid one.
pub fn default_var(name: &str) -> Option<String> {
    let var: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    match var.chars().next() {
        Some(c) if !c.is_ascii_digit() => Some(var),
        _ => None,
    }
}

/// Whether `var` is a valid variable name: letters, digits and `_`, not starting with
/// a digit.
pub fn valid_var(var: &str) -> bool {
    !var.is_empty()
        && !var.starts_with(|c: char| c.is_ascii_digit())
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Variables set only when named with `--env`, exactly.
const DANGEROUS: &[&str] = &[
    // Where programs and shells look for things, and what a shell runs first.
    "PATH",
    "HOME",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "IFS",
    "PS4",
    "CDPATH",
    "GLOBIGNORE",
    // The C library.
    "GCONV_PATH",
    "LOCPATH",
    "NLSPATH",
    "HOSTALIASES",
    "RESOLV_HOST_CONF",
    "GLIBC_TUNABLES",
    "TMPDIR",
    // Interpreters and runtimes.
    "NODE_OPTIONS",
    "NODE_PATH",
    "RUBYOPT",
    "RUBYLIB",
    "PERLLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
];

/// Prefixes of variables set only when named with `--env`.
const DANGEROUS_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "MALLOC_",
    "BASH_FUNC_",
    "PYTHON",
    "PERL5",
    // svault's own settings (the trusted agent uid, the socket) in a child svault.
    "SVAULT_",
];

/// Whether `var` changes how a program is loaded or run (the dynamic loader, shells,
/// the C library, interpreters, `HOME`, and svault's own `SVAULT_*`). Such a variable
/// is set from a credential only when `--env` names it.
pub fn is_dangerous(var: &str) -> bool {
    DANGEROUS.contains(&var) || DANGEROUS_PREFIXES.iter().any(|p| var.starts_with(p))
}

/// The variables `--env VAR=NAME` arguments ask for. Any variable may be named here,
/// the dangerous ones included: naming it is the explicit choice.
///
/// # Errors
///
/// [`EnvError::Spec`], [`EnvError::Twice`].
pub fn explicit<S: AsRef<str>>(specs: &[S]) -> Result<Vec<Binding>, EnvError> {
    let mut out: Vec<Binding> = Vec::with_capacity(specs.len());
    for spec in specs {
        let spec = spec.as_ref();
        let Some((var, name)) = spec
            .split_once('=')
            .filter(|(var, name)| valid_var(var) && !name.is_empty())
        else {
            return Err(EnvError::Spec(spec.to_owned()));
        };
        if let Some(first) = out.iter().find(|b| b.var == var) {
            return Err(EnvError::Twice {
                var: var.to_owned(),
                first: first.name.clone(),
                second: name.to_owned(),
            });
        }
        out.push(Binding {
            var: var.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(out)
}

/// The variables for every credential in `names` (without `--env`): see the
/// [module docs](self).
///
/// # Errors
///
/// [`EnvError::Collision`], [`EnvError::Dangerous`]: the whole command is refused.
pub fn automatic<I, S>(names: I) -> Result<Vec<Binding>, EnvError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<Binding> = Vec::new();
    for name in names {
        let name = name.as_ref();
        let Some(var) = default_var(name) else {
            continue;
        };
        if is_dangerous(&var) {
            return Err(EnvError::Dangerous {
                var,
                name: name.to_owned(),
            });
        }
        if let Some(first) = out.iter().find(|b| b.var == var) {
            return Err(EnvError::Collision {
                var,
                first: first.name.clone(),
                second: name.to_owned(),
            });
        }
        out.push(Binding {
            var,
            name: name.to_owned(),
        });
    }
    Ok(out)
}

/// A credential's value as an environment value.
///
/// # Errors
///
/// [`EnvError::Nul`] when it holds a NUL byte.
pub fn value<'v>(name: &str, value: &'v SecretBytes) -> Result<&'v OsStr, EnvError> {
    if value.expose().contains(&0) {
        return Err(EnvError::Nul(name.to_owned()));
    }
    Ok(OsStr::from_bytes(value.expose()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_variables() {
        assert_eq!(default_var("db/password").as_deref(), Some("DB_PASSWORD"));
        assert_eq!(default_var("9lives"), None);
        assert!(valid_var("A_1") && !valid_var("1A") && !valid_var("A-B") && !valid_var(""));
    }

    #[test]
    fn collisions_and_dangerous_names_refuse_the_whole_mapping() {
        assert!(matches!(
            automatic(["db/password", "db_password"]),
            Err(EnvError::Collision { var, .. }) if var == "DB_PASSWORD"
        ));
        for name in [
            "ld/preload",
            "path",
            "bash_env",
            "node_options",
            "env",
            "pythonpath",
            "perl5opt",
            "rubyopt",
            "gconv_path",
            "ifs",
            "shellopts",
            "home",
            "svault/agent_uid",
        ] {
            let err = automatic(["api/token", name]).unwrap_err();
            assert!(matches!(err, EnvError::Dangerous { .. }), "{name}: {err}");
            assert!(err.to_string().contains("--env "), "{err}");
        }
        let ok = automatic(["api/token", "9lives", "pathname"]).unwrap();
        assert_eq!(ok.len(), 2);
        // Named explicitly, any variable may be set; twice is refused.
        assert_eq!(
            explicit(&["LD_PRELOAD=ld/preload"]).unwrap()[0].var,
            "LD_PRELOAD"
        );
        assert!(matches!(
            explicit(&["A=x", "A=y"]),
            Err(EnvError::Twice { .. })
        ));
        assert!(matches!(explicit(&["1A=x"]), Err(EnvError::Spec(_))));
        assert!(matches!(explicit(&["A="]), Err(EnvError::Spec(_))));
    }
}

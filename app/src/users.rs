//! `skyglass user add|remove|passwd|list`: the archive's accounts. Passwords come from a
//! prompt that does not echo them, or, for scripts, from the first line of standard input
//! (`--password-stdin`); they are stored only as argon2 hashes.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub action: UserAction,
    /// The archive's data directory (default: the platform's data folder).
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Read the password from the first line of standard input instead of a prompt.
    #[arg(long, global = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add an account.
    Add { name: String },
    /// Remove an account (its sessions end).
    Remove { name: String },
    /// Set an account's password (its sessions end).
    Passwd { name: String },
    /// List the accounts.
    List,
}

pub fn run(args: &UserArgs) -> Result<()> {
    let data = crate::archive::data_dir(args.data.as_ref())?;
    crate::archive::runtime()?.block_on(async {
        let archive = skyglass_archive::Archive::open(&data)
            .await
            .with_context(|| format!("cannot open the archive in {}", data.display()))?;
        match &args.action {
            UserAction::Add { name } => {
                skyglass_archive::users::check_user_name(name)?;
                let password = password(args.password_stdin, &format!("password for {name}: "))?;
                archive.add_user(name, &password)?;
                println!("added {name}");
            }
            UserAction::Remove { name } => {
                archive.remove_user(name).await?;
                println!("removed {name}");
            }
            UserAction::Passwd { name } => {
                let password = password(args.password_stdin, &format!("new password for {name}: "))?;
                archive.set_password(name, &password)?;
                println!("changed the password of {name}");
            }
            UserAction::List => {
                for name in archive.users()? {
                    println!("{name}");
                }
            }
        }
        Ok(())
    })
}

/// A password from a prompt that does not echo, or the first line of standard input.
pub(crate) fn password(from_stdin: bool, prompt: &str) -> Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        rpassword::prompt_password(prompt).context("cannot read the password (no terminal? use --password-stdin)")?
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}

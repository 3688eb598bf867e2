//! Every command's help in one format: what it does, its options with their defaults, then its
//! examples and the exit codes.

use assert_cmd::Command;

fn help(args: &[&str]) -> String {
    let output = Command::cargo_bin("overrun").unwrap().args(args).arg("--help").output().unwrap();
    assert!(output.status.success(), "{args:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The subcommands `overrun --help` lists.
fn commands() -> Vec<String> {
    let top = help(&[]);
    let listed =
        top.split("Commands:").nth(1).expect("a command list").split("\n\n").next().unwrap_or_default();
    listed
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_commands_help_ends_with_examples_of_itself_and_the_exit_codes() {
    let mut helps = Vec::new();
    for command in commands() {
        if command == "schedule" {
            for sub in ["list", "set", "clear"] {
                helps.push((format!("schedule {sub}"), help(&["schedule", sub])));
            }
        } else if command == "import" {
            for sub in ["github", "openlineage"] {
                helps.push((format!("import {sub}"), help(&["import", sub])));
            }
        } else {
            helps.push((command.clone(), help(&[&command])));
        }
    }
    assert!(helps.len() >= 18, "{:?}", helps.iter().map(|(name, _)| name).collect::<Vec<_>>());
    for (name, text) in helps {
        let command_word = name.split(' ').next().unwrap_or_default();
        let examples =
            text.split("Examples:\n").nth(1).unwrap_or_else(|| panic!("{name}: no examples:\n{text}"));
        assert!(
            examples.lines().next().is_some_and(|first| first.contains(&format!("overrun {command_word}"))),
            "{name}: its first example runs it:\n{examples}"
        );
        assert!(text.contains("Exit codes: 0 done, 1 "), "{name}: exit codes:\n{text}");
        assert!(text.contains("2 bad input or options"), "{name}");
    }
}

#[test]
fn a_default_is_always_written_in_brackets_as_clap_writes_its_own() {
    for command in commands().into_iter().filter(|c| c != "schedule" && c != "import") {
        let text = help(&[&command]);
        for line in text.lines() {
            assert!(
                !line.contains("(default:") && !line.contains("(default "),
                "{command}: a default in parentheses, not [default: …]: {line}"
            );
        }
    }
}

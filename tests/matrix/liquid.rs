//! Liquid in the template's Rust sources stays at item level: a tag is alone on its line
//! (whole `use` lines, items, fields and match arms are switched on and off) or sits in a
//! comment. A tag inside an expression or an argument list makes the code unreadable in
//! both of its generated forms, so it is refused here, naming the file and line.
//!
//! And in every rendered file, a condition reads the options as they are declared: a
//! bool bare (`{% if web %}`), a string with `==` or `!=` and one of its choices
//! (`{% if database != "none" %}`). A bare string is always true in Liquid and a
//! misspelt choice never matches; both would pass unnoticed otherwise.

use std::path::{Path, PathBuf};

use regex::Regex;

use crate::options::{self, Kind, TemplateOption};

/// Variables cargo-generate defines itself; conditions may read them freely.
const BUILTINS: [&str; 8] = [
    "project-name",
    "crate_name",
    "crate_type",
    "authors",
    "username",
    "os-arch",
    "is_init",
    "within_cargo_project",
];

/// Every Liquid tag of a Rust file that is neither alone on its line nor in a comment.
fn tags_inside_code(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains("{%"))
        .filter(|(_, line)| {
            let line = line.trim();
            let alone =
                line.starts_with("{%") && line.ends_with("%}") && line.matches("{%").count() == 1;
            !alone && !line.starts_with("//")
        })
        .map(|(index, line)| (index + 1, line.trim().to_owned()))
        .collect()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    found.extend(
        rendered_files(dir)
            .into_iter()
            .filter(|path| path.extension().is_some_and(|extension| extension == "rs")),
    );
}

/// Every file under `dir` that cargo-generate renders: all but `crates/`, which
/// `cargo-generate.toml` copies as it is.
fn rendered_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a template directory") {
        let path = entry.expect("read a directory entry").path();
        if path.is_dir() && path != options::repo_root().join("template/crates") {
            found.extend(rendered_files(&path));
        } else if path.is_file() {
            found.push(path);
        }
    }
    found
}

/// Every condition of `text`'s `if`, `elsif`, `unless`, `case` and `when` tags that does
/// not read `options` as declared, with its line and why (outside `raw` blocks).
fn misread_options(text: &str, options: &[TemplateOption]) -> Vec<(usize, String)> {
    let tag = Regex::new(r"\{%-?\s*(\w+)\s*(.*?)\s*-?%\}").expect("valid regex");
    let operands = Regex::new(r"\s+(?:and|or)\s+").expect("valid regex");
    let values = Regex::new(r"\s*(?:,|\bor\b)\s*").expect("valid regex");
    let mut problems = Vec::new();
    let mut raw = false;
    // The option of the innermost open `case`, for its `when` values.
    let mut cases: Vec<String> = Vec::new();
    for found in tag.captures_iter(text) {
        let start = found.get(0).map_or(0, |m| m.start());
        let line = text[..start].matches('\n').count() + 1;
        let (name, expression) = (&found[1], found[2].trim());
        let mut problem = |why: String| problems.push((line, why));
        match name {
            "raw" => raw = true,
            "endraw" => raw = false,
            _ if raw => {}
            "if" | "elsif" | "unless" => {
                for operand in operands.split(expression) {
                    if let Err(why) = operand_reads(operand.trim(), options) {
                        problem(format!("`{expression}`: {why}"));
                    }
                }
            }
            "case" => {
                if let Err(why) = compared_with(expression, "\"\"", options) {
                    problem(format!("`case {expression}`: {why}"));
                }
                cases.push(expression.to_owned());
            }
            "when" => {
                let option = cases.last().cloned().unwrap_or_default();
                for value in values.split(expression) {
                    if let Err(why) = compared_with(&option, value.trim(), options) {
                        problem(format!("`when {expression}`: {why}"));
                    }
                }
            }
            "endcase" => {
                cases.pop();
            }
            _ => {}
        }
    }
    problems
}

/// Whether one operand of a condition (`web`, `database == "none"`, `web == true`) reads
/// its option the way it is declared.
fn operand_reads(operand: &str, options: &[TemplateOption]) -> Result<(), String> {
    match operand
        .split_once("==")
        .or_else(|| operand.split_once("!="))
    {
        Some((name, value)) => compared_with(name.trim(), value.trim(), options),
        None => compared_with(operand, "true", options),
    }
}

/// Whether the variable `name` may be compared with the Liquid literal `value` (`true`,
/// `"none"`; `""` for any string, as `case` does).
fn compared_with(name: &str, value: &str, options: &[TemplateOption]) -> Result<(), String> {
    if BUILTINS.contains(&name) {
        return Ok(());
    }
    let Some(option) = options.iter().find(|option| option.name == name) else {
        return Err(format!("`{name}` is not an option of cargo-generate.toml"));
    };
    let string = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
    match (&option.kind, string) {
        (Kind::Bool, None) if value == "true" || value == "false" => Ok(()),
        (Kind::Bool, _) => Err(format!("`{name}` is a bool, compared with {value}")),
        (Kind::Choice(_), Some("")) if value == "\"\"" => Ok(()),
        (Kind::Choice(choices), Some(choice)) if choices.iter().any(|c| c == choice) => Ok(()),
        (Kind::Choice(choices), Some(choice)) => Err(format!(
            "`{name}` is never \"{choice}\" (its choices: {})",
            choices.join(", ")
        )),
        (Kind::Choice(_), None) => Err(format!(
            "`{name}` is a string: compare it with one of its choices (alone it is always true)"
        )),
    }
}

#[test]
fn liquid_tags_in_rust_sources_stand_alone_or_in_comments() {
    let template = options::repo_root().join("template");
    let mut files = Vec::new();
    rust_files(&template, &mut files);
    assert!(
        files.len() > 10,
        "too few Rust files found under {}",
        template.display()
    );
    let mut problems = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read a template file");
        for (line, tag) in tags_inside_code(&text) {
            let relative = path.strip_prefix(&template).unwrap_or(&path);
            problems.push(format!("{}:{line}: {tag}", relative.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "Liquid inside code; switch whole lines or items instead:\n{}",
        problems.join("\n")
    );
}

#[test]
fn liquid_conditions_read_options_as_declared() {
    let template = options::repo_root().join("template");
    let mut problems = Vec::new();
    for path in rendered_files(&template) {
        // Binary files are copied, not rendered.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (line, why) in misread_options(&text, options::all()) {
            let relative = path.strip_prefix(&template).unwrap_or(&path);
            problems.push(format!("{}:{line}: {why}", relative.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "Liquid conditions that misread an option:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_condition_check_knows_bools_from_choices() {
    let options = options::all();
    let good = "{% if web and database != \"none\" %}\n{%- elsif cache or database == \"postgres\" -%}\n\
                {% case database %}{% when \"sqlite\", \"none\" %}{% endcase %}\n\
                {% raw %}{% if anything %}{% endraw %}\n";
    assert_eq!(misread_options(good, options), vec![]);
    let bad = "{% if database %}\n{% if database == \"postgress\" %}\n{% if web == \"yes\" %}\n\
               {% if nosuch or cache %}\n{% case database %}{% when \"mysql\" %}{% endcase %}\n";
    let lines: Vec<usize> = misread_options(bad, options)
        .into_iter()
        .map(|(line, _)| line)
        .collect();
    assert_eq!(lines, vec![1, 2, 3, 4, 5]);
}

#[test]
fn the_check_tells_item_level_from_expressions() {
    let text = "{% if cache %}\nuse a;\n{%- endif %}\n// {% if x %}prose{% endif %}\nf({% if x %}a{% endif %});\n";
    assert_eq!(
        tags_inside_code(text),
        vec![(5, "f({% if x %}a{% endif %});".to_owned())]
    );
}

//! Liquid in the template's Rust sources stays at item level: a tag is alone on its line
//! (whole `use` lines, items, fields and match arms are switched on and off) or sits in a
//! comment. A tag inside an expression or an argument list makes the code unreadable in
//! both of its generated forms, so it is refused here, naming the file and line.

use std::path::Path;

use crate::options;

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

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a template directory") {
        let path = entry.expect("read a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
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
fn the_check_tells_item_level_from_expressions() {
    let text = "{% if cache %}\nuse a;\n{%- endif %}\n// {% if x %}prose{% endif %}\nf({% if x %}a{% endif %});\n";
    assert_eq!(
        tags_inside_code(text),
        vec![(5, "f({% if x %}a{% endif %});".to_owned())]
    );
}

//! Checks of the Dockerfile and `compose.yaml`, without a Docker engine (none runs here).
//!
//! [`problems`] reads both files for any combination with docker on: every `COPY` source
//! exists and is not `.dockerignore`d, the runtime stage copies the binary the builder
//! produced under the package's name and runs it, and compose runs the right subcommands
//! with Redis wired in exactly when redis is on (and PostgreSQL exactly when it is the
//! database).
//!
//! The test below runs the builder stage's steps as plain shell commands in a fresh
//! copy of the everything-on project (files copied as `COPY` would, timestamps kept, so
//! the dependency-caching trick with a placeholder `main` is exercised for real), then
//! asks the built binary for each subcommand the image and compose start. The `RUN`
//! lines run verbatim, release build included: measured cold on 2 cores, the
//! everything-on service's release build took 3m20s (under the ~5 minutes this test may
//! cost), and the shared target directory keeps its release artifacts for later runs.
//! The target directory is the shared one rather than the image's `/app/target`, so the
//! binary is looked up there, in the profile directory the runtime stage copies from.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_yaml::Value;

use crate::cargo;
use crate::combinations::Combination;
use crate::generate;

/// One instruction of a Dockerfile, continuation lines joined.
#[derive(Debug, Clone)]
struct Instruction {
    /// Upper-case keyword: `FROM`, `COPY`, `RUN`, ...
    keyword: String,
    /// Everything after the keyword.
    arguments: String,
}

/// A build stage: `FROM image AS name` and what follows it.
#[derive(Debug, Clone)]
struct Stage {
    /// The name after `AS`, if any.
    name: Option<String>,
    /// The stage's instructions after `FROM`.
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a Instruction> + 'a {
        self.instructions
            .iter()
            .filter(move |instruction| instruction.keyword == keyword)
    }

    fn last<'a>(&'a self, keyword: &'a str) -> Option<&'a Instruction> {
        self.all(keyword).last()
    }
}

fn parse_dockerfile(text: &str) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            pending.push_str(continued);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let complete = std::mem::take(&mut pending);
        let (keyword, arguments) = complete
            .split_once(char::is_whitespace)
            .unwrap_or((&complete, ""));
        let instruction = Instruction {
            keyword: keyword.to_ascii_uppercase(),
            arguments: arguments.trim().to_owned(),
        };
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction.arguments.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => None,
            };
            stages.push(Stage {
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(instruction);
        }
    }
    stages
}

/// `COPY [--from=x] src... dst` split into (from, sources, destination).
fn copy_parts(instruction: &Instruction) -> (Option<String>, Vec<String>, String) {
    let mut from = None;
    let mut words = Vec::new();
    for word in instruction.arguments.split_whitespace() {
        match word.strip_prefix("--from=") {
            Some(stage) => from = Some(stage.to_owned()),
            None if word.starts_with("--") => {}
            None => words.push(word.to_owned()),
        }
    }
    let destination = words.pop().unwrap_or_default();
    (from, words, destination)
}

/// The JSON array of an exec-form `ENTRYPOINT`/`CMD`, or `None` for the shell form.
fn exec_form(instruction: Option<&Instruction>) -> Option<Vec<String>> {
    serde_yaml::from_str(&instruction?.arguments).ok()
}

/// Sources in the build context matching `pattern` (a trailing or inner `*` globs names in
/// one directory, as Docker does).
fn matching_sources(context: &Path, pattern: &str) -> Vec<PathBuf> {
    if !pattern.contains('*') {
        let path = context.join(pattern);
        return if path.exists() {
            vec![path]
        } else {
            Vec::new()
        };
    }
    let (dir, name) = match pattern.rsplit_once('/') {
        Some((dir, name)) => (context.join(dir), name.to_owned()),
        None => (context.to_path_buf(), pattern.to_owned()),
    };
    let (prefix, suffix) = name.split_once('*').unwrap_or((&name, ""));
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    name.starts_with(prefix) && name.ends_with(suffix)
                })
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default()
}

fn dockerignored(context: &Path) -> Vec<String> {
    std::fs::read_to_string(context.join(".dockerignore"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            line.trim_start_matches('/')
                .trim_end_matches('/')
                .to_owned()
        })
        .collect()
}

/// Subcommands the image or compose may start, per option.
fn modes(combination: &Combination) -> Vec<&'static str> {
    let mut modes = Vec::new();
    if combination.is_on("web") {
        modes.push("web");
    }
    if combination.is_on("worker") {
        modes.push("worker");
    }
    modes
}

/// Everything wrong with the Dockerfile and compose.yaml of the project at `root`.
pub fn problems(root: &Path, package: &str, combination: &Combination) -> Vec<String> {
    let mut problems = Vec::new();
    problems.extend(dockerfile_problems(root, package, combination));
    problems.extend(compose_problems(root, package, combination));
    problems
}

fn dockerfile_problems(root: &Path, package: &str, combination: &Combination) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join("Dockerfile")) else {
        return vec!["Dockerfile: missing".to_owned()];
    };
    let stages = parse_dockerfile(&text);
    let mut problems = Vec::new();
    let ignored = dockerignored(root);
    for required in ["target", ".env"] {
        if !ignored.iter().any(|line| line == required) {
            problems.push(format!(".dockerignore: does not exclude {required}"));
        }
    }
    for stage in &stages {
        for copy in stage.all("COPY") {
            let (from, sources, _) = copy_parts(copy);
            if from.is_some() {
                continue;
            }
            for source in sources {
                let globbed = source.contains('*');
                let matches = matching_sources(root, &source);
                if matches.is_empty() && !globbed {
                    problems.push(format!("Dockerfile: COPY {source}: not in the project"));
                }
                let top = source
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('*');
                if ignored.iter().any(|line| line == top) {
                    problems.push(format!(
                        "Dockerfile: COPY {source}: excluded by .dockerignore"
                    ));
                }
            }
        }
    }
    let Some(runtime) = stages.last() else {
        return vec!["Dockerfile: no FROM".to_owned()];
    };
    let copies: Vec<_> = runtime
        .all("COPY")
        .map(copy_parts)
        .filter(|(from, _, _)| from.is_some())
        .collect();
    let [(Some(from), sources, destination)] = copies.as_slice() else {
        problems.push(
            "Dockerfile: the last stage should COPY --from the builder exactly once".to_owned(),
        );
        return problems;
    };
    let builder = stages
        .iter()
        .find(|stage| stage.name.as_deref() == Some(from.as_str()));
    let workdir = builder
        .and_then(|stage| stage.last("WORKDIR"))
        .map(|workdir| workdir.arguments.trim_end_matches('/').to_owned());
    match workdir {
        None => problems.push(format!("Dockerfile: no stage `{from}` with a WORKDIR")),
        Some(workdir) => {
            let expected = format!("{workdir}/target/release/{package}");
            if sources.as_slice() != [expected.clone()] {
                problems.push(format!(
                    "Dockerfile: the runtime copies {sources:?}; the builder produces {expected}"
                ));
            }
        }
    }
    if !destination.ends_with(&format!("/{package}")) {
        problems.push(format!(
            "Dockerfile: the binary is copied to {destination}, not named {package}"
        ));
    }
    match exec_form(runtime.last("ENTRYPOINT")) {
        Some(entrypoint) if entrypoint.first() == Some(destination) => {}
        other => problems.push(format!(
            "Dockerfile: ENTRYPOINT {other:?} does not run the copied binary {destination}"
        )),
    }
    let cmd = exec_form(runtime.last("CMD")).unwrap_or_default();
    // The image's default is the first long-running mode; without one, help.
    let expected = modes(combination).first().map_or("--help", |mode| *mode);
    if cmd.first().map(String::as_str) != Some(expected) {
        problems.push(format!("Dockerfile: CMD {cmd:?}, expected [{expected:?}]"));
    }
    if combination.is_on("web") {
        let env = runtime
            .all("ENV")
            .map(|e| e.arguments.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if !env.contains("APP_HOST=0.0.0.0") {
            problems.push(
                "Dockerfile: the web image must set APP_HOST=0.0.0.0 to be reachable".to_owned(),
            );
        }
    }
    // The probe is the binary's `healthcheck` command, which exists with web and cli.
    let probe = combination.is_on("web") && combination.is_on("cli");
    match (probe, runtime.last("HEALTHCHECK")) {
        (true, Some(check)) => {
            let runs = check
                .arguments
                .split_once("CMD")
                .map(|(_, command)| command.trim())
                .and_then(|command| serde_yaml::from_str::<Vec<String>>(command).ok());
            if runs != Some(vec![destination.clone(), "healthcheck".to_owned()]) {
                problems.push(format!(
                    "Dockerfile: HEALTHCHECK {} should run [{destination:?}, \"healthcheck\"]",
                    check.arguments
                ));
            }
        }
        (true, None) => problems.push("Dockerfile: no HEALTHCHECK for the web image".to_owned()),
        (false, Some(_)) => problems.push(
            "Dockerfile: a HEALTHCHECK although the healthcheck command (web and cli) is absent"
                .to_owned(),
        ),
        (false, None) => {}
    }
    problems
}

fn compose_problems(root: &Path, package: &str, combination: &Combination) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join("compose.yaml")) else {
        return vec!["compose.yaml: missing".to_owned()];
    };
    let compose: Value = match serde_yaml::from_str(&text) {
        Ok(compose) => compose,
        Err(error) => return vec![format!("compose.yaml: not valid YAML: {error}")],
    };
    let Some(services) = compose.get("services").and_then(Value::as_mapping) else {
        return vec!["compose.yaml: no services".to_owned()];
    };
    let mut problems = Vec::new();
    let service = |name: &str| services.get(name);
    let redis = combination.is_on("redis");
    for mode in ["web", "worker", "cli"] {
        let on = combination.is_on(mode);
        if service(mode).is_some() != on {
            problems.push(format!(
                "compose.yaml: service `{mode}` {} although {mode} is {}",
                if on { "missing" } else { "present" },
                if on { "on" } else { "off" }
            ));
        }
    }
    for mode in modes(combination) {
        let Some(service) = service(mode) else {
            continue;
        };
        let command: Vec<String> = service
            .get("command")
            .and_then(|c| serde_yaml::from_value(c.clone()).ok())
            .unwrap_or_default();
        if command != [mode] {
            problems.push(format!(
                "compose.yaml: service `{mode}` runs {command:?}, expected [{mode:?}]"
            ));
        }
    }
    if let Some(web) = service("web") {
        let ports = web.get("ports").and_then(Value::as_sequence);
        if !ports.is_some_and(|ports| {
            ports
                .iter()
                .any(|p| p.as_str().is_some_and(|p| p.ends_with(":8080")))
        }) {
            problems.push("compose.yaml: service `web` does not publish port 8080".to_owned());
        }
    }
    // Every service of this project runs one image, built by exactly one of them.
    let ours: Vec<(&str, &Value)> = services
        .iter()
        .filter(|(_, definition)| runs_this_project(definition, package))
        .map(|(name, definition)| (name.as_str().unwrap_or_default(), definition))
        .collect();
    let builders: Vec<&str> = ours
        .iter()
        .filter(|(_, definition)| definition.get("build").is_some())
        .map(|(name, _)| *name)
        .collect();
    if builders.len() != 1 {
        problems.push(format!(
            "compose.yaml: {builders:?} build the image; exactly one service should, the others run it"
        ));
    }
    for (name, definition) in &ours {
        let field = |key: &str| definition.get(key).and_then(Value::as_str);
        let (expected_build, expected_pull) = if definition.get("build").is_some() {
            (Some("."), "build")
        } else {
            (None, "never")
        };
        if field("build") != expected_build || field("image") != Some(package) {
            problems.push(format!(
                "compose.yaml: service `{name}` should run image {package:?}, built from `.` by one service only"
            ));
        }
        if field("pull_policy") != Some(expected_pull) {
            problems.push(format!(
                "compose.yaml: service `{name}` should have pull_policy: {expected_pull}, so the image is never pulled from a registry"
            ));
        }
        let redis_host = definition
            .get("environment")
            .and_then(|env| env.get("CACHE_REDIS_HOST"))
            .and_then(Value::as_str);
        match (redis, redis_host) {
            (true, Some("redis")) | (false, None) => {}
            (true, other) => problems.push(format!(
                "compose.yaml: service `{name}` has CACHE_REDIS_HOST {other:?}, expected \"redis\""
            )),
            (false, Some(_)) => problems.push(format!(
                "compose.yaml: service `{name}` sets CACHE_REDIS_HOST although redis is off"
            )),
        }
        if redis && !depends_on(definition, "redis") {
            problems.push(format!(
                "compose.yaml: service `{name}` does not depend on redis"
            ));
        }
        // The image's HEALTHCHECK probes the web server: only `web` may keep it.
        let probe = definition.get("healthcheck");
        let disabled = probe
            .and_then(|check| check.get("disable"))
            .and_then(Value::as_bool)
            == Some(true);
        let image_probes = combination.is_on("web") && combination.is_on("cli");
        if *name == "web" && image_probes && (disabled || probe.is_none()) {
            problems.push("compose.yaml: service `web` has no healthcheck".to_owned());
        }
        if *name != "web" && image_probes && !disabled {
            problems.push(format!(
                "compose.yaml: service `{name}` would inherit the image's web probe; disable it"
            ));
        }
    }
    if let Some(web) = service("web") {
        // Longer than APP_SHUTDOWN_TIMEOUT_MS (30 s), or Docker kills requests in flight.
        let grace = web
            .get("stop_grace_period")
            .and_then(Value::as_str)
            .and_then(|period| period.strip_suffix('s'))
            .and_then(|seconds| seconds.parse::<u64>().ok());
        if grace.is_none_or(|seconds| seconds <= 30) {
            problems.push(format!(
                "compose.yaml: service `web` has stop_grace_period {grace:?} s; it must exceed the 30 s grace"
            ));
        }
    }
    let redis_image = service("redis")
        .and_then(|s| s.get("image"))
        .and_then(Value::as_str)
        .is_some_and(|image| image.starts_with("redis"));
    if redis != redis_image {
        problems.push(format!(
            "compose.yaml: a redis service {} although redis is {}",
            if redis { "is missing" } else { "is present" },
            if redis { "on" } else { "off" }
        ));
    }
    problems.extend(compose_postgres_problems(services, combination));
    problems
}

/// With PostgreSQL, a `postgres` service runs a postgres image and `web` waits for it;
/// with any other database there is no such service.
fn compose_postgres_problems(
    services: &serde_yaml::Mapping,
    combination: &Combination,
) -> Vec<String> {
    let service = |name: &str| services.get(name);
    let postgres = combination.is("database", "postgres");
    let postgres_image = service("postgres")
        .and_then(|s| s.get("image"))
        .and_then(Value::as_str)
        .is_some_and(|image| image.starts_with("postgres"));
    let mut problems = Vec::new();
    if postgres != postgres_image {
        problems.push(format!(
            "compose.yaml: a postgres service {} although database is {}",
            if postgres { "is missing" } else { "is present" },
            combination
                .value("database")
                .map(|value| value.to_string())
                .unwrap_or_default()
        ));
    }
    if postgres && service("web").is_some_and(|web| !depends_on(web, "postgres")) {
        problems.push("compose.yaml: service `web` does not depend on postgres".to_owned());
    }
    problems
}

/// Whether a compose service runs this project's image (builds it, or names it).
fn runs_this_project(definition: &Value, package: &str) -> bool {
    definition.get("build").is_some()
        || definition.get("image").and_then(Value::as_str) == Some(package)
}

/// Whether a compose service waits for the service called `other`.
fn depends_on(definition: &Value, other: &str) -> bool {
    let depends = definition.get("depends_on");
    depends.and_then(|d| d.get(other)).is_some()
        || depends
            .and_then(Value::as_sequence)
            .is_some_and(|list| list.iter().any(|d| d.as_str() == Some(other)))
}

/// The `command` of every compose service that runs this project (the cli service has
/// none: `docker compose run cli <command>`).
fn compose_commands(root: &Path, package: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root.join("compose.yaml")).unwrap_or_default();
    let compose: Value = serde_yaml::from_str(&text).unwrap_or(Value::Null);
    compose
        .get("services")
        .and_then(Value::as_mapping)
        .map(|services| {
            services
                .values()
                .filter(|service| runs_this_project(service, package))
                .filter_map(|service| service.get("command"))
                .filter_map(|command| serde_yaml::from_value(command.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn dockerfile_builder_steps_build_the_everything_on_service() {
    let combination = Combination::everything_on();
    let name = format!("docker-{}", combination.package_name());
    let mut project = generate::generate(&name, &combination.defines())
        .unwrap_or_else(|failed| panic!("{combination}: generation failed: {failed}"));
    // As the README asks: a first local cargo command trims the shipped lock (resolved
    // for every option) to this project's dependencies, and that lock is committed; the
    // image builds with --locked against it.
    let mut trim = Command::new("cargo");
    trim.args(["metadata", "--format-version", "1"]);
    cargo::run_command(
        &name,
        "cargo metadata",
        trim,
        &project.path,
        Duration::from_secs(10 * 60),
    )
    .unwrap_or_else(|failure| panic!("{combination}: {failure}"));
    if let Err(problem) = run_builder_stage(&project.path, &name) {
        let kept = project.keep();
        panic!("{problem}\n(project kept in {})", kept.display());
    }
}

fn run_builder_stage(context: &Path, package: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(context.join("Dockerfile")).map_err(|e| e.to_string())?;
    let stages = parse_dockerfile(&text);
    let runtime = stages.last().ok_or("Dockerfile: no stage")?;
    let builder_name = runtime
        .all("COPY")
        .find_map(|copy| copy_parts(copy).0)
        .ok_or("Dockerfile: the runtime stage copies nothing from a builder")?;
    let builder = stages
        .iter()
        .find(|stage| stage.name.as_deref() == Some(builder_name.as_str()))
        .ok_or_else(|| format!("Dockerfile: no stage named {builder_name}"))?;

    // The image's filesystem: WORKDIR is a directory of its own under `image`.
    let image = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ignored = dockerignored(context);
    let mut workdir = image.path().to_path_buf();
    let mut last_run_started = SystemTime::now();
    for (index, instruction) in builder.instructions.iter().enumerate() {
        match instruction.keyword.as_str() {
            "WORKDIR" => {
                workdir = image
                    .path()
                    .join(instruction.arguments.trim_start_matches('/'));
                std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
            }
            "COPY" => {
                let (from, sources, destination) = copy_parts(instruction);
                if from.is_some() {
                    return Err(
                        "Dockerfile: the builder copies from another stage; emulate it here".into(),
                    );
                }
                let target = workdir.join(&destination);
                for source in sources {
                    for path in matching_sources(context, &source) {
                        let name = path
                            .file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned();
                        if ignored.contains(&name) {
                            continue;
                        }
                        // `COPY a b/` and `COPY a ./` put a inside; `COPY src ./src` renames.
                        let into = if destination.ends_with('/') || destination == "." {
                            target.join(&name)
                        } else {
                            target.clone()
                        };
                        copy_like_docker(&path, &into)
                            .map_err(|e| format!("COPY {source}: {e}"))?;
                    }
                }
            }
            "RUN" => {
                let mut command = Command::new("sh");
                command.args(["-c", &instruction.arguments]);
                last_run_started = SystemTime::now();
                cargo::run_command(
                    package,
                    &format!("Dockerfile RUN {index}"),
                    command,
                    &workdir,
                    Duration::from_secs(30 * 60),
                )?;
            }
            "ENV" | "ARG" | "LABEL" => {}
            other => {
                return Err(format!(
                    "Dockerfile: builder instruction {other} is not emulated here"
                ));
            }
        }
    }

    // The last RUN must have produced a fresh binary, not kept the placeholder's.
    let (_, copied, _) = runtime
        .all("COPY")
        .map(copy_parts)
        .find(|(from, _, _)| from.as_deref() == Some(builder_name.as_str()))
        .ok_or("Dockerfile: the runtime stage copies nothing from the builder")?;
    let profile = copied
        .first()
        .and_then(|source| source.split("/target/").nth(1))
        .and_then(|rest| rest.split('/').next())
        .ok_or("Dockerfile: the runtime stage does not copy from the builder's target/")?;
    let binary = cargo::target_dir().join(profile).join(package);
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .map_err(|e| format!("{}: not built ({e})", binary.display()))?;
    if built < last_run_started {
        return Err(format!(
            "{}: older than the final build step: the placeholder binary would ship",
            binary.display()
        ));
    }
    let mut starts: Vec<Vec<String>> = compose_commands(context, package);
    starts.extend(exec_form(runtime.last("CMD")));
    if starts.is_empty() {
        return Err("neither the image nor compose starts a subcommand".into());
    }
    for start in starts {
        let mut command = Command::new(&binary);
        command.args(&start).arg("--help");
        let output = cargo::run_command(
            package,
            &format!("{} --help", start.join(" ")),
            command,
            context,
            Duration::from_secs(60),
        )?;
        if output.trim().is_empty() {
            return Err(format!(
                "`{package} {} --help` printed nothing",
                start.join(" ")
            ));
        }
    }
    Ok(())
}

/// Copies like `COPY`: directories recursively, modification times kept (Docker keeps
/// them, which is why the Dockerfile must `touch` sources after the placeholder build).
fn copy_like_docker(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_like_docker(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to)?;
    let modified = std::fs::metadata(from)?.modified()?;
    std::fs::File::options()
        .write(true)
        .open(to)?
        .set_modified(modified)
}

#[test]
fn parses_stages_copies_and_exec_forms() {
    let stages = parse_dockerfile(
        "# comment\nFROM rust AS builder\nWORKDIR /app\nCOPY a b* ./\nRUN one \\\n    && two\n\
         FROM debian\nCOPY --from=builder /app/x /bin/x\nCMD [\"web\"]\n",
    );
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].name.as_deref(), Some("builder"));
    assert_eq!(
        stages[0].last("RUN").map(|r| r.arguments.as_str()),
        Some("one  && two")
    );
    let (from, sources, destination) = copy_parts(stages[1].last("COPY").expect("a COPY"));
    assert_eq!(
        (from.as_deref(), sources, destination.as_str()),
        (Some("builder"), vec!["/app/x".to_owned()], "/bin/x")
    );
    assert_eq!(
        exec_form(stages[1].last("CMD")),
        Some(vec!["web".to_owned()])
    );
}

//! The query panel: a TAP service (the embedded archive, the known public ones, or any
//! URL), its tables from VOSI, an ADQL editor with highlighting and completion of table and
//! column names, "sources in view", and the jobs with their phase, elapsed time and cancel.
//! Queries run on threads; the UI never waits for a service.

use skyglass_sky::{Frame, LonLat, ScreenPoint, ViewCamera};
use skyglass_tap::vosi::TableMeta;
use skyglass_tap::{KNOWN_SERVICES, Query, TapService, Upload};
use skyglass_votable::TableData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The longest an asynchronous job may run before the panel gives up on it.
const JOB_LIMIT: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub enum JobState {
    Running,
    Done { rows: usize, overflow: bool },
    Failed(String),
    Cancelled,
}

pub struct QueryJob {
    pub label: String,
    pub adql: String,
    pub started: Instant,
    pub finished: Option<Duration>,
    pub state: JobState,
    result: Option<Receiver<Result<(TableData, bool), String>>>,
    cancel: Arc<AtomicBool>,
    /// The UWS phase of an asynchronous job, as the service last said.
    phase: Arc<std::sync::Mutex<String>>,
}

/// A finished query's table, for the app to make a layer of.
pub struct QueryResult {
    pub label: String,
    pub table: TableData,
}

pub struct QueryPanel {
    pub visible: bool,
    /// The service's base URL.
    pub service: String,
    pub adql: String,
    pub maxrec: u64,
    pub asynchronous: bool,
    tables: Option<Result<Vec<TableMeta>, String>>,
    tables_of: String,
    loading_tables: Option<Receiver<Result<Vec<TableMeta>, String>>>,
    /// The table "sources in view" asks.
    pub chosen_table: Option<String>,
    /// A loaded catalogue sent along with the query, and the name it has there
    /// (`TAP_UPLOAD.name`).
    pub upload: Option<u64>,
    pub upload_name: String,
    pub jobs: Vec<QueryJob>,
    pub problem: Option<String>,
    /// The login in use, for the service it was made on.
    pub login: Option<Login>,
    pub login_user: String,
    /// Held only until the login is sent.
    login_password: String,
    logging_in: Option<Receiver<Result<Login, String>>>,
    pub login_problem: Option<String>,
    keeping: Option<Receiver<Result<String, String>>>,
    /// What became of the last catalogue kept on the service.
    pub kept: Option<Result<String, String>>,
}

/// The client a request goes through: a login's, or an anonymous one to build.
enum Client {
    LoggedIn(Arc<TapService>),
    Anonymous(String),
}

impl Client {
    fn get(self) -> Result<Arc<TapService>, String> {
        match self {
            Client::LoggedIn(client) => Ok(client),
            Client::Anonymous(service) => TapService::new(&service).map(Arc::new).map_err(|e| e.to_string()),
        }
    }
}

/// A login to a TAP service (TAP+ form and cookie, else Basic; see `skyglass_tap`): its
/// queries and table lists go through this client.
pub struct Login {
    pub service: String,
    pub user: String,
    client: Arc<TapService>,
}

impl QueryPanel {
    pub fn new() -> QueryPanel {
        QueryPanel {
            visible: false,
            service: String::new(),
            adql: String::new(),
            maxrec: 100_000,
            asynchronous: false,
            tables: None,
            tables_of: String::new(),
            loading_tables: None,
            chosen_table: None,
            upload: None,
            upload_name: "mine".into(),
            jobs: Vec::new(),
            problem: None,
            login: None,
            login_user: String::new(),
            login_password: String::new(),
            logging_in: None,
            login_problem: None,
            keeping: None,
            kept: None,
        }
    }

    /// Keeps a catalogue as a table of the logged-in user's on the chosen service (TAP+
    /// Upload), on a thread of its own, under a name made an identifier from `name`.
    pub fn keep(&mut self, name: &str, table: TableData, wake: impl Fn() + Send + 'static) {
        let Some(login) = self.login.as_ref().filter(|login| login.service == self.service.trim()) else {
            self.kept = Some(Err("log in to the service first".into()));
            return;
        };
        let client = Arc::clone(&login.client);
        let name = table_identifier(name);
        let (sender, receiver) = channel();
        // Written as VOTable on the thread too: for a large catalogue that takes seconds.
        let spawned = std::thread::Builder::new().name("tap-keep".into()).spawn(move || {
            let outcome = Upload::from_table(&name, &table)
                .and_then(|upload| client.keep_table(&upload, "kept from Skyglass"))
                .map_err(|e| e.to_string());
            let _ = sender.send(outcome);
            wake();
        });
        match spawned {
            Ok(_) => {
                self.kept = None;
                self.keeping = Some(receiver);
            }
            Err(error) => self.kept = Some(Err(format!("cannot keep the table: {error}"))),
        }
    }

    /// Whether a table is on its way to the service.
    pub fn keeping(&self) -> bool {
        self.keeping.is_some()
    }

    fn poll_keeping(&mut self) {
        if let Some(receiver) = &self.keeping
            && let Ok(outcome) = receiver.try_recv()
        {
            self.keeping = None;
            if outcome.is_ok() {
                // The kept table joins the list.
                self.tables_of.clear();
            }
            self.kept = Some(outcome);
        }
    }

    /// The client for `service`: the login's when it was made there, else anonymous.
    /// (Building a client takes a while: an anonymous one is built on the worker thread, by
    /// [`Client::get`].)
    fn client(&self, service: &str) -> Client {
        match &self.login {
            Some(login) if login.service == service => Client::LoggedIn(Arc::clone(&login.client)),
            _ => Client::Anonymous(service.to_owned()),
        }
    }

    /// Logs in to the chosen service on a thread of its own; the password is not kept.
    pub fn log_in(&mut self, wake: impl Fn() + Send + 'static) {
        let (service, user) = (self.service.trim().to_owned(), self.login_user.trim().to_owned());
        let password = std::mem::take(&mut self.login_password);
        let (sender, receiver) = channel();
        let spawned = std::thread::Builder::new().name("tap-login".into()).spawn(move || {
            let outcome = TapService::new(&service)
                .and_then(|mut client| client.log_in(&user, &password).map(|()| client))
                .map(|client| Login { service, user, client: Arc::new(client) })
                .map_err(|e| e.to_string());
            let _ = sender.send(outcome);
            wake();
        });
        match spawned {
            Ok(_) => {
                self.login_problem = None;
                self.logging_in = Some(receiver);
            }
            Err(error) => self.login_problem = Some(format!("cannot log in: {error}")),
        }
    }

    fn poll_login(&mut self) {
        if let Some(receiver) = &self.logging_in
            && let Ok(outcome) = receiver.try_recv()
        {
            self.logging_in = None;
            match outcome {
                Ok(login) => {
                    // One login at a time: the session of an earlier one ends.
                    self.log_out();
                    self.login = Some(login);
                    // The tables again: a user sees their own and those shared with them.
                    self.tables_of.clear();
                }
                Err(error) => self.login_problem = Some(error),
            }
        }
    }

    /// Collects what the panel's threads have finished (also while the panel is closed).
    pub fn poll(&mut self) {
        self.poll_tables();
        self.poll_login();
        self.poll_keeping();
    }

    /// Ends the login (the service's session too, in the background).
    pub fn log_out(&mut self) {
        if let Some(login) = self.login.take() {
            let _ = std::thread::Builder::new().name("tap-logout".into()).spawn(move || login.client.log_out());
            self.tables_of.clear();
        }
    }

    /// Who is logged in to the chosen service.
    pub fn logged_in_as(&self) -> Option<&str> {
        self.login.as_ref().filter(|login| login.service == self.service.trim()).map(|login| login.user.as_str())
    }

    /// Runs the editor's ADQL on the chosen service, on a thread of its own, with the
    /// chosen upload.
    pub fn run(&mut self, label: &str, uploads: Vec<(String, TableData)>, wake: impl Fn() + Send + 'static) {
        let (service, adql) = (self.service.trim().to_owned(), self.adql.trim().to_owned());
        self.start_with(&service, &adql, label, uploads, wake);
    }

    /// Runs ADQL on a service as a job of the list (the overview's loads come here too).
    pub fn start(&mut self, service: &str, adql: &str, label: &str, wake: impl Fn() + Send + 'static) {
        self.start_with(service, adql, label, Vec::new(), wake);
    }

    fn start_with(
        &mut self,
        service: &str,
        adql: &str,
        label: &str,
        uploads: Vec<(String, TableData)>,
        wake: impl Fn() + Send + 'static,
    ) {
        let (adql, maxrec, asynchronous) = (adql.to_owned(), self.maxrec, self.asynchronous);
        if service.is_empty() || adql.is_empty() {
            self.problem = Some("choose a service and write a query first".into());
            return;
        }
        let service = self.client(service);
        let cancel = Arc::new(AtomicBool::new(false));
        let phase = Arc::new(std::sync::Mutex::new(String::from(if asynchronous { "PENDING" } else { "sync" })));
        let (sender, result) = channel();
        let stop = cancel.clone();
        let reported = phase.clone();
        let adql_shown = adql.clone();
        let spawned = std::thread::Builder::new().name("tap-query".into()).spawn(move || {
            let outcome = service
                .get()
                .map_err(anyhow::Error::msg)
                .and_then(|service| {
                    // Uploads are written as VOTable here, off the UI thread.
                    let uploads = uploads
                        .iter()
                        .map(|(name, table)| Upload::from_table(name, table))
                        .collect::<Result<Vec<_>, _>>()?;
                    run_query(&service, &adql, maxrec, asynchronous, &uploads, &stop, &reported)
                })
                .map_err(|e| format!("{e:#}"));
            let _ = sender.send(outcome);
            wake();
        });
        match spawned {
            Ok(_) => {
                self.problem = None;
                self.jobs.push(QueryJob {
                    label: label.to_owned(),
                    adql: adql_shown,
                    started: Instant::now(),
                    finished: None,
                    state: JobState::Running,
                    result: Some(result),
                    cancel,
                    phase,
                });
            }
            Err(error) => self.problem = Some(format!("cannot start the query: {error}")),
        }
    }

    /// Finished queries: their tables go to the caller, their states to the jobs list.
    pub fn take_results(&mut self) -> Vec<QueryResult> {
        let mut results = Vec::new();
        for job in &mut self.jobs {
            let Some(receiver) = &job.result else { continue };
            let Ok(outcome) = receiver.try_recv() else { continue };
            job.result = None;
            job.finished = Some(job.started.elapsed());
            if job.cancel.load(Ordering::Relaxed) {
                job.state = JobState::Cancelled;
                continue;
            }
            match outcome {
                Ok((table, overflow)) => {
                    let rows = table.batches.iter().map(|b| b.num_rows()).sum();
                    job.state = JobState::Done { rows, overflow };
                    results.push(QueryResult { label: job.label.clone(), table });
                }
                Err(error) => job.state = JobState::Failed(error),
            }
        }
        results
    }

    pub fn running(&self) -> bool {
        self.jobs.iter().any(|job| matches!(job.state, JobState::Running))
    }

    /// Asks the service for its tables (VOSI), once per service.
    fn want_tables(&mut self, wake: impl Fn() + Send + 'static) {
        let service = self.service.trim().to_owned();
        if service.is_empty() || self.tables_of == service {
            return;
        }
        self.tables_of = service.clone();
        self.tables = None;
        let client = self.client(&service);
        let (sender, receiver) = channel();
        let spawned = std::thread::Builder::new().name("tap-tables".into()).spawn(move || {
            let outcome = client.get().and_then(|s| s.tables().map_err(|e| e.to_string()));
            let _ = sender.send(outcome);
            wake();
        });
        if spawned.is_ok() {
            self.loading_tables = Some(receiver);
        }
    }

    fn poll_tables(&mut self) {
        if let Some(receiver) = &self.loading_tables
            && let Ok(outcome) = receiver.try_recv()
        {
            self.tables = Some(outcome);
            self.loading_tables = None;
        }
    }

    /// The tables of the service, once read.
    pub fn tables(&self) -> Option<&[TableMeta]> {
        self.tables.as_ref().and_then(|t| t.as_ref().ok()).map(Vec::as_slice)
    }

    /// Why the service's tables could not be read, once it is known.
    #[cfg(test)]
    pub fn tables_error(&self) -> Option<&str> {
        self.tables.as_ref().and_then(|t| t.as_ref().err()).map(String::as_str)
    }

    /// The ADQL for the sources of `table` in the view.
    pub fn sources_in_view(&self, table: &TableMeta, camera: &ViewCamera) -> Result<String, String> {
        let (ra, dec) = position_columns(table)
            .ok_or_else(|| format!("{} has no columns with UCD pos.eq.ra and pos.eq.dec", table.name))?;
        let in_view = skyglass_adql::build::position_in(&ra, &dec, &view_region(camera));
        Ok(skyglass_adql::build::select_top(self.maxrec, &table.name, Some(&in_view)))
    }

    /// The panel. `archive` is the embedded archive's URL, once it runs; `camera` the view.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        archive: Option<&str>,
        camera: Option<&ViewCamera>,
        catalogues: &[(u64, String)],
        make_upload: &dyn Fn(u64) -> Result<TableData, String>,
        wake: impl Fn() + Send + Clone + 'static,
    ) {
        self.poll();
        if self.service.is_empty()
            && let Some(archive) = archive
        {
            self.service = archive.to_owned();
        }
        ui.horizontal(|ui| {
            ui.label("Service");
            let title = service_title(&self.service, archive);
            egui::ComboBox::from_id_salt("tap service").selected_text(title).width(240.0).show_ui(ui, |ui| {
                if let Some(archive) = archive {
                    ui.selectable_value(&mut self.service, archive.to_owned(), "Skyglass archive (embedded)");
                }
                for (_, title, url) in KNOWN_SERVICES {
                    ui.selectable_value(&mut self.service, (*url).to_owned(), *title);
                }
            });
        });
        ui.add(
            egui::TextEdit::singleline(&mut self.service).hint_text("any TAP service URL").desired_width(f32::INFINITY),
        );
        self.login_row(ui, wake.clone());
        self.want_tables(wake.clone());

        egui::CollapsingHeader::new("Tables").default_open(true).show(ui, |ui| {
            egui::ScrollArea::vertical().id_salt("tap tables").max_height(160.0).show(ui, |ui| match &self.tables {
                None => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("reading the service's tables…");
                    });
                }
                Some(Err(error)) => {
                    ui.colored_label(ui.visuals().error_fg_color, format!("no tables: {error}"));
                }
                Some(Ok(tables)) => {
                    let mut chosen = None;
                    for table in tables {
                        let id = ui.make_persistent_id(("tap table", &table.name));
                        egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, false)
                            .show_header(ui, |ui| {
                                let selected = self.chosen_table.as_deref() == Some(table.name.as_str());
                                if ui
                                    .selectable_label(selected, &table.name)
                                    .on_hover_text(&table.description)
                                    .clicked()
                                {
                                    chosen = Some(table.name.clone());
                                }
                            })
                            .body(|ui| {
                                for column in &table.columns {
                                    let unit = if column.unit.is_empty() {
                                        String::new()
                                    } else {
                                        format!(" [{}]", column.unit)
                                    };
                                    ui.label(format!("{}{unit}", column.name))
                                        .on_hover_text(format!("{}\nUCD {}", column.description, column.ucd));
                                }
                            });
                    }
                    if let Some(name) = chosen {
                        if self.adql.trim().is_empty() {
                            self.adql = skyglass_adql::build::select_top(100, &name, None);
                        }
                        self.chosen_table = Some(name);
                    }
                }
            });
        });

        ui.horizontal(|ui| {
            ui.label("max rows");
            ui.add(egui::DragValue::new(&mut self.maxrec).range(1..=100_000_000).speed(100.0));
            ui.checkbox(&mut self.asynchronous, "asynchronous job");
        });
        if !catalogues.is_empty() {
            ui.horizontal(|ui| {
                ui.label("upload");
                let chosen = self
                    .upload
                    .and_then(|id| catalogues.iter().find(|(c, _)| *c == id))
                    .map_or("nothing", |(_, name)| name.as_str());
                egui::ComboBox::from_id_salt("tap upload").selected_text(chosen).show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.upload, None, "nothing");
                    for (id, name) in catalogues {
                        ui.selectable_value(&mut self.upload, Some(*id), name);
                    }
                });
                if self.upload.is_some() {
                    ui.label("as TAP_UPLOAD.");
                    ui.add(egui::TextEdit::singleline(&mut self.upload_name).desired_width(80.0));
                }
            });
        }
        // The buttons above the editor: they stay in sight when the table view below is open.
        ui.horizontal(|ui| {
            ui.label("ADQL");
            if ui.button("Run").clicked() {
                // Results are named for the table queried, whatever the tree has selected.
                let label = skyglass_adql::build::first_table(&self.adql)
                    .or_else(|| self.chosen_table.clone())
                    .unwrap_or_else(|| "query".into());
                match self.upload.map(make_upload).transpose() {
                    Ok(table) => {
                        let upload = table.map(|table| (self.upload_name.trim().to_owned(), table));
                        self.run(&label, upload.into_iter().collect(), wake.clone());
                    }
                    Err(error) => self.problem = Some(error),
                }
            }
            let table = self.chosen_table.as_ref().and_then(|name| self.tables()?.iter().find(|t| &t.name == name));
            if ui
                .add_enabled(table.is_some() && camera.is_some(), egui::Button::new("Sources in view"))
                .on_hover_text("Query the chosen table for what the sky view shows")
                .on_disabled_hover_text(if camera.is_none() {
                    "The sky view has not been drawn yet"
                } else {
                    "Choose a table in the list above first: its sources in the view are asked for"
                })
                .clicked()
                && let (Some(table), Some(camera)) = (table, camera)
            {
                let table = table.clone();
                match self.sources_in_view(&table, camera) {
                    Ok(adql) => {
                        self.adql = adql;
                        self.run(&format!("{} in view", table.name), Vec::new(), wake.clone());
                    }
                    Err(error) => self.problem = Some(error),
                }
            }
        });
        let keywords_colour = ui.visuals().hyperlink_color;
        let mut layouter = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap_width: f32| {
            let mut job = highlight_adql(text.as_str(), keywords_colour, ui.visuals().text_color());
            job.wrap.max_width = wrap_width;
            ui.fonts_mut(|fonts| fonts.layout_job(job))
        };
        ui.add(
            egui::TextEdit::multiline(&mut self.adql)
                .id_salt("adql")
                .code_editor()
                .desired_rows(5)
                .desired_width(f32::INFINITY)
                .hint_text("SELECT TOP 100 * FROM …")
                .layouter(&mut layouter),
        );
        // Completion of the word being typed: table names, then the columns of the tables.
        let suggestions = self.completions();
        if !suggestions.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.small("complete:");
                for suggestion in suggestions {
                    if ui.small_button(&suggestion).clicked() {
                        complete_last_word(&mut self.adql, &suggestion);
                    }
                }
            });
        }
        if let Some(problem) = &self.problem {
            ui.colored_label(ui.visuals().error_fg_color, problem);
        }
        self.jobs_list(ui);
    }

    /// Who is logged in, or the fields to log in with (archives with users' tables: ESA's,
    /// Skyglass's own).
    fn login_row(&mut self, ui: &mut egui::Ui, wake: impl Fn() + Send + 'static) {
        ui.horizontal(|ui| {
            if let Some(user) = self.logged_in_as() {
                ui.label(format!("logged in as {user}"));
                if ui.button("Log out").clicked() {
                    self.log_out();
                }
                return;
            }
            ui.label("user");
            ui.add(egui::TextEdit::singleline(&mut self.login_user).desired_width(90.0));
            ui.label("password");
            let password_id = ui.make_persistent_id("tap login password");
            let password = ui.add(
                egui::TextEdit::singleline(&mut self.login_password).id(password_id).password(true).desired_width(90.0),
            );
            let ready = !self.login_user.trim().is_empty()
                && !self.login_password.is_empty()
                && !self.service.trim().is_empty();
            let entered = password.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if self.logging_in.is_some() {
                ui.spinner();
            } else if (ui.add_enabled(ready, egui::Button::new("Log in")).clicked() || entered) && ready {
                self.log_in(wake);
                // The field's undo history holds what was typed: the password goes from there too.
                if let Some(mut state) = egui::text_edit::TextEditState::load(ui.ctx(), password_id) {
                    state.clear_undoer();
                    state.store(ui.ctx(), password_id);
                }
            }
        });
        if let Some(problem) = &self.login_problem {
            ui.colored_label(ui.visuals().error_fg_color, problem);
        }
        match &self.kept {
            Some(Ok(message)) => {
                ui.label(message);
            }
            Some(Err(problem)) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("not kept: {problem}"));
            }
            None => {}
        }
    }

    fn jobs_list(&mut self, ui: &mut egui::Ui) {
        if self.jobs.is_empty() {
            return;
        }
        ui.separator();
        ui.label("Jobs");
        let mut remove = None;
        for (i, job) in self.jobs.iter().enumerate().rev() {
            ui.horizontal(|ui| {
                let elapsed = job.finished.unwrap_or_else(|| job.started.elapsed());
                ui.label(format!("{:.1} s", elapsed.as_secs_f64())).on_hover_text(&job.adql);
                ui.label(&job.label);
                match &job.state {
                    JobState::Running => {
                        ui.spinner();
                        ui.label(job.phase.lock().map(|p| p.clone()).unwrap_or_default());
                        if ui.small_button("cancel").clicked() {
                            job.cancel.store(true, Ordering::Relaxed);
                        }
                    }
                    JobState::Done { rows, overflow } => {
                        ui.label(format!("{rows} rows{}", if *overflow { " (truncated at the limit)" } else { "" }));
                    }
                    JobState::Failed(_) => {
                        ui.colored_label(ui.visuals().error_fg_color, "failed");
                    }
                    JobState::Cancelled => {
                        ui.label("cancelled");
                    }
                }
                if !matches!(job.state, JobState::Running) && ui.small_button("remove").clicked() {
                    remove = Some(i);
                }
            });
            // The service's message, wrapped: it can be long.
            if let JobState::Failed(error) = &job.state {
                ui.add(egui::Label::new(egui::RichText::new(error).color(ui.visuals().error_fg_color)).wrap());
            }
        }
        if let Some(i) = remove {
            self.jobs.remove(i);
        }
    }

    /// Names that complete the word at the end of the ADQL.
    fn completions(&self) -> Vec<String> {
        let Some(tables) = self.tables() else { return Vec::new() };
        let word = last_word(&self.adql);
        if word.len() < 2 {
            return Vec::new();
        }
        let lower = word.to_ascii_lowercase();
        let mut names: Vec<String> = Vec::new();
        for table in tables {
            let short = table.name.rsplit('.').next().unwrap_or(&table.name);
            if table.name.to_ascii_lowercase().starts_with(&lower) || short.to_ascii_lowercase().starts_with(&lower) {
                names.push(table.name.clone());
            }
        }
        for table in tables {
            for column in &table.columns {
                if column.name.to_ascii_lowercase().starts_with(&lower) && !names.contains(&column.name) {
                    names.push(column.name.clone());
                }
            }
        }
        names.retain(|n| !n.eq_ignore_ascii_case(word));
        names.truncate(8);
        names
    }
}

/// The view as an ADQL region: a POLYGON of its corners for fields under 30°, else a
/// CIRCLE holding it.
pub fn view_region(camera: &ViewCamera) -> String {
    let to_icrs = |p: LonLat| camera.frame().convert(Frame::Icrs, p);
    let viewport = camera.viewport();
    let corners: Option<Vec<LonLat>> = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
        .iter()
        .map(|(x, y)| camera.screen_to_sky(ScreenPoint { x: viewport.width * x, y: viewport.height * y }))
        .collect();
    match corners {
        Some(corners) if camera.fov().degrees() < 30.0 => {
            // Screen corners run clockwise on the sky seen from inside; ADQL wants them
            // counter-clockwise, so they are listed backwards.
            let points: Vec<String> = corners
                .iter()
                .rev()
                .map(|p| {
                    let p = to_icrs(*p);
                    format!("{:.6}, {:.6}", p.lon().degrees(), p.lat().degrees())
                })
                .collect();
            format!("POLYGON('ICRS', {})", points.join(", "))
        }
        _ => {
            let centre = to_icrs(camera.centre());
            let radius =
                (camera.fov().degrees() * viewport.width.hypot(viewport.height) / viewport.width / 2.0).min(180.0);
            format!("CIRCLE('ICRS', {:.6}, {:.6}, {radius:.6})", centre.lon().degrees(), centre.lat().degrees())
        }
    }
}

fn service_title(url: &str, archive: Option<&str>) -> String {
    if archive == Some(url) {
        return "Skyglass archive (embedded)".into();
    }
    KNOWN_SERVICES
        .iter()
        .find(|(_, _, u)| *u == url)
        .map_or_else(|| url.to_owned(), |(_, title, _)| (*title).to_owned())
}

/// The RA and Dec columns of a table, by UCD (`meta.main` first), then by name.
pub fn position_columns(table: &TableMeta) -> Option<(String, String)> {
    let columns = table.columns.iter().map(|c| (c.name.as_str(), c.ucd.as_str(), c.datatype.as_str()));
    let (ra, dec) = skyglass_votable::detect_equatorial_by_metadata(columns)?;
    Some((table.columns[ra].name.clone(), table.columns[dec].name.clone()))
}

/// The word being typed at the end of `text`: letters, digits, `_` and `.` (any script's
/// letters, so the word starts after the whole character before it, however many bytes).
fn last_word(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    &text[start..]
}

fn complete_last_word(text: &mut String, with: &str) {
    let word = last_word(text).len();
    text.truncate(text.len() - word);
    text.push_str(with);
    text.push(' ');
}

const ADQL_KEYWORDS: &[&str] = &[
    "SELECT",
    "TOP",
    "DISTINCT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "AS",
    "JOIN",
    "LEFT",
    "RIGHT",
    "OUTER",
    "INNER",
    "ON",
    "USING",
    "GROUP",
    "BY",
    "ORDER",
    "ASC",
    "DESC",
    "HAVING",
    "IN",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "IS",
    "NULL",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "WITH",
    "OFFSET",
    "CONTAINS",
    "INTERSECTS",
    "POINT",
    "CIRCLE",
    "POLYGON",
    "BOX",
    "DISTANCE",
    "AREA",
    "COUNT",
    "AVG",
    "MIN",
    "MAX",
    "SUM",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
];

/// ADQL coloured: keywords, strings, numbers.
fn highlight_adql(text: &str, keyword: egui::Color32, plain: egui::Color32) -> egui::text::LayoutJob {
    let mut job = egui::text::LayoutJob::default();
    let font = egui::FontId::monospace(13.0);
    let string_colour = egui::Color32::from_rgb(220, 160, 90);
    let number_colour = egui::Color32::from_rgb(150, 200, 140);
    let mut rest = text;
    while !rest.is_empty() {
        let first = rest.chars().next().unwrap_or(' ');
        let (length, colour) = if first == '\'' {
            let end = rest[1..].find('\'').map_or(rest.len(), |i| i + 2);
            (end, string_colour)
        } else if first.is_ascii_digit() {
            (
                rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E')).unwrap_or(rest.len()),
                number_colour,
            )
        } else if first.is_alphabetic() || first == '_' {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let word = &rest[..end];
            let colour = if ADQL_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)) { keyword } else { plain };
            (end, colour)
        } else {
            (first.len_utf8(), plain)
        };
        let format = egui::TextFormat { font_id: font.clone(), color: colour, ..Default::default() };
        job.append(&rest[..length], 0.0, format);
        rest = &rest[length..];
    }
    job
}

/// A table name from a catalogue's: lower-case letters, digits and `_`, starting with a
/// letter, at most 64.
fn table_identifier(name: &str) -> String {
    let mut identifier: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).take(60).collect();
    if !identifier.starts_with(|c: char| c.is_ascii_alphabetic()) {
        identifier.insert_str(0, "t_");
    }
    identifier
}

/// A query run to its end: sync, or as a job (waited on, aborted and deleted if cancelled).
fn run_query(
    service: &TapService,
    adql: &str,
    maxrec: u64,
    asynchronous: bool,
    uploads: &[Upload],
    cancel: &AtomicBool,
    phase: &std::sync::Mutex<String>,
) -> anyhow::Result<(TableData, bool)> {
    let query = Query { adql, maxrec: Some(maxrec), uploads };
    if !asynchronous {
        let answer = service.sync(&query)?;
        return Ok((answer.table, answer.overflow));
    }
    let job = service.submit(&query)?;
    let deadline = Instant::now() + JOB_LIMIT;
    loop {
        if cancel.load(Ordering::Relaxed) {
            let _ = job.abort();
            let _ = job.delete();
            anyhow::bail!("cancelled");
        }
        let now = job.wait(Duration::from_secs(1))?;
        if let Ok(mut shown) = phase.lock() {
            shown.clone_from(&now);
        }
        if !matches!(now.as_str(), "PENDING" | "QUEUED" | "EXECUTING") {
            break;
        }
        if Instant::now() > deadline {
            let _ = job.abort();
            anyhow::bail!("the job ran past {} s and was aborted", JOB_LIMIT.as_secs());
        }
    }
    let answer = job.result();
    let _ = job.delete();
    let answer = answer?;
    Ok((answer.table, answer.overflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_replaces_the_last_word() {
        let mut adql = String::from("SELECT * FROM hip");
        assert_eq!(last_word(&adql), "hip");
        complete_last_word(&mut adql, "public.hipparcos");
        assert_eq!(adql, "SELECT * FROM public.hipparcos ");
    }

    #[test]
    fn highlighting_keeps_the_text() {
        let text = "SELECT TOP 5 ra, 'x y' FROM t WHERE ra > 1.5e3";
        let job = highlight_adql(text, egui::Color32::RED, egui::Color32::WHITE);
        assert_eq!(job.text, text);
        assert!(job.sections.len() > 10);
    }
}

#[cfg(test)]
mod service_tests {
    use super::*;

    /// A "service" that answers a web page to everything, started here.
    fn garbage_server() -> (String, tokio::runtime::Runtime) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let address = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let page = || async { axum::response::Html("<html><body>Welcome to our portal</body></html>") };
            let app = axum::Router::new().fallback(page);
            tokio::spawn(async move { axum::serve(listener, app).await });
            address
        });
        (format!("http://{address}/tap"), runtime)
    }

    fn run_to_the_end(panel: &mut QueryPanel) {
        for _ in 0..500 {
            let _ = panel.take_results();
            if !panel.running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the query did not end");
    }

    #[test]
    fn a_service_answering_garbage_fails_the_job_with_a_message() {
        let (url, _runtime) = garbage_server();
        for asynchronous in [false, true] {
            let mut panel = QueryPanel::new();
            panel.asynchronous = asynchronous;
            panel.start(&url, "SELECT TOP 1 * FROM t", "t", || {});
            run_to_the_end(&mut panel);
            let Some(JobState::Failed(error)) = panel.jobs.last().map(|j| &j.state) else {
                panic!("the job should fail")
            };
            assert!(!error.is_empty() && error.len() < 2000, "{error}");
        }
        // A refused table list too.
        let mut panel = QueryPanel::new();
        panel.service = url;
        panel.want_tables(|| {});
        for _ in 0..500 {
            panel.poll_tables();
            if panel.tables.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(panel.tables_error().is_some());
    }
}

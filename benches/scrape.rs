//! End-to-end measurements of the release binary against the simulated API on
//! loopback: scrape overhead against fetching the same API pages directly, CPU per
//! scrape, resident memory, single flight under 200 concurrent scrapes, memory growth
//! over 10,000 scrapes, and start-up time. Prints one table.
//!
//! The simulated API runs on a CPU of its own, as a remote API would. The exporter and
//! this process run on the others. For comparison, the overhead is also measured with
//! the simulated API and the exporter free to use every CPU (see [`Placement`]).
//!
//! Run with `benches/measure.sh` (or `cargo bench --bench scrape`). Linux only: it
//! reads CPU time and memory from /proc and places processes with `taskset`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use astro_exporter::api::model::parse_ports_page;
use astro_exporter::metrics::PortSeries;
use tokio::task::JoinSet;

const BINARY: &str = env!("CARGO_BIN_EXE_astro-exporter");
const TOKEN: &str = "0123456789abcdef";
/// The exporter's default page size, which the direct fetch uses too.
const PAGE_SIZE: u64 = 100;
/// Scrapes timed for each median. The machines these run on are shared, and noise comes
/// in bursts, so the overhead is the median of ratios of a scrape and a direct fetch
/// timed one right after the other.
const REPEATS: usize = 51;
const CONCURRENT_SCRAPES: usize = 200;
const GROWTH_SCRAPES: usize = 10_000;
/// The wait of the simulated API before each reply while single flight is counted.
const API_LATENCY: &str = "10ms";

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

/// The CPUs the simulated API and the exporter run on.
///
/// A real API runs on other machines and takes no CPU from the exporter. On one
/// machine, the kernel may run the simulated API's threads on the CPU where the
/// exporter is decoding a page, and every page then waits for both. `Apart` keeps
/// them on different CPUs, as a remote API would be; `Shared` shows the difference.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Placement {
    /// The simulated API on a CPU of its own, the exporter on the others.
    Apart,
    /// Both on every CPU, wherever the kernel places them.
    Shared,
}

/// The CPU lists, in `taskset` form, of a machine with two CPUs or more.
struct CpuLists {
    /// The last CPU this process may use, for the simulated API.
    api: String,
    /// The others, for the exporter and this process, which measures both.
    exporter: String,
    /// Every CPU this process may use.
    all: String,
}

impl CpuLists {
    /// Returns the lists, or `None` on a single CPU, where nothing is pinned.
    fn get() -> Option<&'static CpuLists> {
        static LISTS: std::sync::OnceLock<Option<CpuLists>> = std::sync::OnceLock::new();
        LISTS.get_or_init(CpuLists::detect).as_ref()
    }

    /// Reads the CPUs this process may use from `Cpus_allowed_list` in
    /// `/proc/self/status` (such as `0-1` or `0,2-3`).
    fn detect() -> Option<CpuLists> {
        let all = status_field("self", "Cpus_allowed_list");
        let mut cpus = Vec::new();
        for range in all.split(',') {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            let first: usize = first.parse().expect("a CPU number");
            let last: usize = last.parse().expect("a CPU number");
            cpus.extend(first..=last);
        }
        let (api, others) = cpus.split_last()?;
        if others.is_empty() {
            return None;
        }
        let others: Vec<String> = others.iter().map(usize::to_string).collect();
        Some(CpuLists {
            api: api.to_string(),
            exporter: others.join(","),
            all,
        })
    }

    /// Moves every thread of this process to the CPUs in `cpus`.
    fn pin_this_process(cpus: &str) {
        let status = Command::new("taskset")
            .args(["--all-tasks", "--cpu-list", "--pid", cpus])
            .arg(std::process::id().to_string())
            .stdout(Stdio::null())
            .status()
            .expect("running taskset, from util-linux");
        assert!(status.success(), "taskset failed: {status}");
    }
}

/// Moves this process to every CPU until dropped, and then back to the exporter's
/// CPUs. Nothing moves on a single CPU.
struct OnEveryCpu;

impl OnEveryCpu {
    fn enter() -> OnEveryCpu {
        if let Some(lists) = CpuLists::get() {
            CpuLists::pin_this_process(&lists.all);
        }
        OnEveryCpu
    }
}

impl Drop for OnEveryCpu {
    fn drop(&mut self) {
        if let Some(lists) = CpuLists::get() {
            CpuLists::pin_this_process(&lists.exporter);
        }
    }
}

impl Placement {
    /// Returns the CPU lists of the simulated API and of the exporter, `None` for a
    /// process that keeps the CPUs of this one.
    fn cpu_lists(self) -> (Option<&'static str>, Option<&'static str>) {
        match (self, CpuLists::get()) {
            (_, None) => (None, None),
            (Placement::Apart, Some(lists)) => (Some(&lists.api), None),
            (Placement::Shared, Some(lists)) => (Some(&lists.all), Some(&lists.all)),
        }
    }
}

/// Returns a command that runs the release binary, on the CPUs in `cpus` if given.
fn binary_on(cpus: Option<&str>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.args(["--cpu-list", cpus, BINARY]);
            command
        }
        None => Command::new(BINARY),
    }
}

/// Starts the simulated API with `ports` active ports and `extra_args`, and returns
/// it with its base URL.
fn start_simulator(ports: u64, placement: Placement, extra_args: &[&str]) -> (Process, String) {
    let mut child = binary_on(placement.cpu_lists().0)
        .args([
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--ports",
            &ports.to_string(),
        ])
        .args(extra_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the simulated API");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("the simulator's first line");
    let url = line.trim().rsplit(' ').next().expect("base URL").to_owned();
    // Keep reading, so that the simulator never writes to a closed pipe.
    std::thread::spawn(move || for _ in stdout.lines() {});
    (Process(child), url)
}

/// Starts the exporter and returns it with its metrics URL and the time from spawn
/// until `ready_path` returns 200: `/metrics` to time a start-up, `/-/healthy` to
/// leave the exporter unscraped.
async fn start_exporter(
    api_url: &str,
    http: &reqwest::Client,
    ready_path: &str,
    extra_args: &[&str],
    placement: Placement,
) -> (Process, String, Duration) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("address").port()
    };
    let address = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let child = binary_on(placement.cpu_lists().1)
        .args([
            "--astro.api-url",
            api_url,
            "--web.listen-address",
            &address,
            "--log.level",
            "error",
        ])
        .args(extra_args)
        .env("ASTRO_API_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the exporter");
    let url = format!("http://{address}/metrics");
    let ready = format!("http://{address}{ready_path}");
    loop {
        if let Ok(response) = http.get(&ready).send().await
            && response.status() == 200
            && response.text().await.is_ok()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the exporter did not start"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    (Process(child), url, started.elapsed())
}

/// Requests `path` from the API and reads the body.
async fn api_get(http: &reqwest::Client, api_url: &str, path: &str) -> bytes::Bytes {
    http.get(format!("{api_url}{path}"))
        .query(&[("token", TOKEN)])
        .send()
        .await
        .expect("API request")
        .bytes()
        .await
        .expect("API body")
}

/// Returns the path of a page of active ports, as the exporter requests it.
fn active_page_path(page: u64) -> String {
    format!("/ports?status=active&count={PAGE_SIZE}&page={page}&order=id&orderDirection=asc")
}

/// Returns how many pages of active ports an account with `ports` ports has.
fn page_count(ports: u64) -> u64 {
    ports.div_ceil(PAGE_SIZE).max(1)
}

/// Fetches what one scrape fetches, directly: the balance and the archived count
/// concurrently with the pages of active ports, read one after another. The bodies
/// are read but not decoded, and the page count comes from the known port count.
async fn fetch_directly(http: &reqwest::Client, api_url: &str, ports: u64) {
    let pages = async {
        for page in 1..=page_count(ports) {
            api_get(http, api_url, &active_page_path(page)).await;
        }
    };
    tokio::join!(
        api_get(http, api_url, "/balance"),
        api_get(
            http,
            api_url,
            "/ports?status=archived&count=1&page=1&order=id&orderDirection=asc"
        ),
        pages
    );
}

/// Returns the time this machine takes to move `bytes` through one loopback TCP
/// connection, from one thread of this process to another, the fastest of three tries.
/// Every response crosses the same path, with more work per byte when it is split over
/// many connections, so the copies of a response sent to concurrent scrapes take at
/// least this long for their total size.
fn loopback_transfer(bytes: u64) -> Duration {
    use std::io::{Read, Write};

    const CHUNK: usize = 1 << 20;
    // The writer and the reader may use every CPU, as the exporter and its scrapers
    // would on separate CPUs.
    let _every_cpu = OnEveryCpu::enter();
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let address = listener.local_addr().expect("the listener's address");
        let started = Instant::now();
        let writer = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(address).expect("a connection");
            let chunk = vec![b'x'; CHUNK];
            let mut left = bytes;
            while left > 0 {
                let size = left.min(CHUNK as u64) as usize;
                stream
                    .write_all(&chunk[..size])
                    .expect("writing to loopback");
                left -= size as u64;
            }
        });
        let (mut stream, _) = listener.accept().expect("accepting the connection");
        let mut buffer = vec![0; CHUNK];
        let mut received = 0;
        while received < bytes {
            match stream.read(&mut buffer).expect("reading from loopback") {
                0 => panic!("loopback connection closed after {received} bytes"),
                read => received += read as u64,
            }
        }
        fastest = fastest.min(started.elapsed());
        writer.join().expect("the writing thread");
    }
    fastest
}

/// Returns the median time this process takes to decode the last page of active
/// ports and render its sample lines, as a scrape does after that page arrives.
async fn last_page_work(http: &reqwest::Client, api_url: &str, ports: u64) -> Duration {
    let body = api_get(http, api_url, &active_page_path(page_count(ports))).await;
    let mut times = Vec::new();
    for _ in 0..REPEATS {
        let started = Instant::now();
        let page = parse_ports_page(&body).expect("a valid page");
        std::hint::black_box(PortSeries::rendered(&page.ports).finish());
        times.push(started.elapsed());
    }
    median(times)
}

async fn scrape(http: &reqwest::Client, url: &str) -> Duration {
    scrape_body(http, url, Encoding::Identity).await.0
}

/// Scrapes once and returns the time taken and the time the exporter reports for its
/// API calls (`astro_scrape_duration_seconds`), which leaves out serving the response.
async fn scrape_and_fetch_time(http: &reqwest::Client, url: &str) -> (Duration, Duration) {
    let (elapsed, body) = scrape_body(http, url, Encoding::Identity).await;
    let seconds = std::str::from_utf8(&body)
        .expect("a UTF-8 exposition")
        .lines()
        .find_map(|line| line.strip_prefix("astro_scrape_duration_seconds "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .expect("astro_scrape_duration_seconds in the exposition");
    (elapsed, Duration::from_secs_f64(seconds))
}

/// The encoding a scrape requests: none, as curl sends, or gzip, as Prometheus sends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Identity,
    Gzip,
}

/// Scrapes once and returns the time taken and the body as sent. A gzip body is read
/// but not decompressed, which is the scraper's own work.
async fn scrape_body(
    http: &reqwest::Client,
    url: &str,
    encoding: Encoding,
) -> (Duration, bytes::Bytes) {
    let started = Instant::now();
    let mut request = http.get(url);
    if encoding == Encoding::Gzip {
        request = request.header("Accept-Encoding", "gzip");
    }
    let response = request.send().await.expect("scrape");
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.expect("scrape body");
    (started.elapsed(), body)
}

/// Scrapes `url` from `CONCURRENT_SCRAPES` connections at once and returns the time
/// the slowest scrape took.
async fn slowest_concurrent_scrape(
    http: &reqwest::Client,
    url: &str,
    encoding: Encoding,
) -> Duration {
    // Open the connections first, as a scraper that keeps its connections would have
    // them, so that the scrapes start together; HEAD does not call the API.
    let mut warm_up = JoinSet::new();
    for _ in 0..CONCURRENT_SCRAPES {
        let request = http.head(url);
        warm_up.spawn(async move { request.send().await.expect("HEAD request") });
    }
    warm_up.join_all().await;
    // Receiving 200 responses is this process's work, not the exporter's, and the
    // simulated API is idle while they are sent, so this process may use every CPU
    // until they have arrived.
    let _every_cpu = OnEveryCpu::enter();
    // Every scrape waits until all are ready to send, so that none of them is still
    // being set up when the shared fetch, a few milliseconds at 1,000 ports, ends.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(CONCURRENT_SCRAPES));
    let mut concurrent = JoinSet::new();
    for _ in 0..CONCURRENT_SCRAPES {
        let http = http.clone();
        let url = url.to_owned();
        let start = std::sync::Arc::clone(&start);
        concurrent.spawn(async move {
            start.wait().await;
            scrape_body(&http, &url, encoding).await.0
        });
    }
    concurrent
        .join_all()
        .await
        .into_iter()
        .max()
        .expect("scrapes")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The median of a set of ratios and the bounds of their middle half.
struct Spread {
    median: f64,
    lower: f64,
    upper: f64,
}

impl Spread {
    fn of(mut ratios: Vec<f64>) -> Spread {
        ratios.sort_by(f64::total_cmp);
        let quarter = ratios.len() / 4;
        Spread {
            median: ratios[ratios.len() / 2],
            lower: ratios[quarter],
            upper: ratios[ratios.len() - 1 - quarter],
        }
    }
}

/// Returns the value of a field of `/proc/PROCESS/status`, where `process` is a pid or
/// `self`, without the spaces around it.
fn status_field(process: &str, field: &str) -> String {
    let path = format!("/proc/{process}/status");
    let status = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {path} failed: {error}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .map(|value| value.trim().to_owned())
        .unwrap_or_else(|| panic!("no {field} in {path}"))
}

/// Reads a `/proc/PID/status` field in kB, such as `VmRSS` or `VmHWM`, as bytes.
fn status_bytes(pid: u32, field: &str) -> u64 {
    let value = status_field(&pid.to_string(), field);
    let kilobytes = value.trim_end_matches(" kB").trim().parse::<u64>();
    kilobytes.unwrap_or_else(|_| panic!("{field} is not a size in kB: {value:?}")) * 1024
}

/// Returns the user and system CPU time of a process.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    // The command name is in parentheses and may contain spaces; fields follow it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat format")
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // NOTE: assumes 100 clock ticks per second, the value on Linux for x86 and arm.
    Duration::from_millis(ticks * 10)
}

async fn upstream_calls(http: &reqwest::Client, url: &str) -> f64 {
    let body = http
        .get(url)
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    body.lines()
        .filter(|line| line.starts_with("astro_api_requests_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Formats a duration in milliseconds, with two decimals below 1 ms.
fn milliseconds(duration: Duration) -> String {
    let milliseconds = duration.as_secs_f64() * 1e3;
    if milliseconds < 1.0 {
        format!("{milliseconds:.2} ms")
    } else {
        format!("{milliseconds:.1} ms")
    }
}

/// The timings of scrapes paired with direct fetches.
struct Paired {
    /// The median direct fetch.
    floor: Duration,
    /// The median scrape.
    lone: Duration,
    /// Scrape time / direct fetch.
    overhead: Spread,
    /// `astro_scrape_duration_seconds` / direct fetch.
    fetch_overhead: Spread,
    /// The exporter's user and system CPU time per scrape.
    cpu_per_scrape: Duration,
}

/// Times `REPEATS` scrapes of the exporter at `url` (process `pid`), each paired with
/// a direct fetch of the same pages from `api_url`.
async fn paired_scrapes(
    ports: u64,
    http: &reqwest::Client,
    api_url: &str,
    url: &str,
    pid: u32,
) -> Paired {
    for _ in 0..3 {
        scrape(http, url).await;
        fetch_directly(http, api_url, ports).await;
    }

    let mut floor = Vec::new();
    let mut scrapes = Vec::new();
    let mut ratios = Vec::new();
    let mut fetch_ratios = Vec::new();
    let cpu_before = cpu_time(pid);
    for repeat in 0..REPEATS {
        let fetch = async {
            let started = Instant::now();
            fetch_directly(http, api_url, ports).await;
            started.elapsed()
        };
        // Which goes first alternates, so that neither gains from the other.
        let (direct, (scraped, fetched)) = if repeat % 2 == 0 {
            let direct = fetch.await;
            (direct, scrape_and_fetch_time(http, url).await)
        } else {
            let scraped = scrape_and_fetch_time(http, url).await;
            (fetch.await, scraped)
        };
        floor.push(direct);
        scrapes.push(scraped);
        ratios.push(scraped.as_secs_f64() / direct.as_secs_f64());
        fetch_ratios.push(fetched.as_secs_f64() / direct.as_secs_f64());
    }
    Paired {
        floor: median(floor),
        lone: median(scrapes),
        overhead: Spread::of(ratios),
        fetch_overhead: Spread::of(fetch_ratios),
        cpu_per_scrape: (cpu_time(pid) - cpu_before) / REPEATS as u32,
    }
}

async fn measure(ports: u64, http: &reqwest::Client, rows: &mut Vec<(String, String, String)>) {
    let label = |name: &str| format!("{name} ({ports} ports)");
    let overhead_rows = |rows: &mut Vec<(String, String, String)>,
                         paired: &Paired,
                         placement: &str| {
        rows.push((
            label(&format!("scrape time / direct fetch{placement}")),
            format!("{:.3}", paired.overhead.median),
            format!(
                "median of {REPEATS} pairs, middle half {:.2} to {:.2}; medians {} / {}",
                paired.overhead.lower,
                paired.overhead.upper,
                milliseconds(paired.lone),
                milliseconds(paired.floor)
            ),
        ));
        rows.push((
            label(&format!("exporter's API calls / direct fetch{placement}")),
            format!("{:.3}", paired.fetch_overhead.median),
            format!(
                "astro_scrape_duration_seconds, without serving the response; middle half {:.2} to {:.2}",
                paired.fetch_overhead.lower, paired.fetch_overhead.upper,
            ),
        ));
    };

    // The simulated API on the exporter's CPUs, for comparison, before the main run.
    let shared = match CpuLists::get() {
        Some(_) => {
            let (_simulator, api_url) = start_simulator(ports, Placement::Shared, &[]);
            let (exporter, url, _) =
                start_exporter(&api_url, http, "/-/healthy", &[], Placement::Shared).await;
            Some(paired_scrapes(ports, http, &api_url, &url, exporter.pid()).await)
        }
        None => None,
    };

    let (_simulator, api_url) = start_simulator(ports, Placement::Apart, &[]);
    let (exporter, url, _) =
        start_exporter(&api_url, http, "/-/healthy", &[], Placement::Apart).await;
    let pid = exporter.pid();
    let idle = status_bytes(pid, "VmRSS");
    let paired = paired_scrapes(ports, http, &api_url, &url, pid).await;
    let peak_lone = status_bytes(pid, "VmHWM");
    let (floor, lone) = (paired.floor, paired.lone);
    let mut gzip_scrapes = Vec::new();
    for _ in 0..REPEATS {
        gzip_scrapes.push(scrape_body(http, &url, Encoding::Gzip).await.0);
    }
    let lone_gzip = median(gzip_scrapes);

    let apart = if CpuLists::get().is_some() {
        ", API on a CPU of its own"
    } else {
        ", one CPU for all"
    };
    overhead_rows(rows, &paired, apart);
    if let Some(shared) = &shared {
        overhead_rows(rows, shared, ", API on the exporter's CPUs");
    }
    rows.push((
        label("exporter CPU per scrape"),
        milliseconds(paired.cpu_per_scrape),
        String::new(),
    ));

    let slowest = slowest_concurrent_scrape(http, &url, Encoding::Identity).await;
    let slowest_gzip = slowest_concurrent_scrape(http, &url, Encoding::Gzip).await;

    // Concurrent scrapes share the fetch that is under way when they arrive. On
    // loopback the fetch of 1,000 ports can end before this one thread has sent 200
    // scrapes, so this count comes from a simulated API that waits before each reply.
    let one_set = (page_count(ports) + 2) as f64;
    let concurrent_calls = {
        let latency = ["--latency", API_LATENCY];
        let (_simulator, api_url) = start_simulator(ports, Placement::Apart, &latency);
        let (_exporter, url, _) =
            start_exporter(&api_url, http, "/-/healthy", &[], Placement::Apart).await;
        // Each count is itself a scrape, so the second one includes one more set.
        let before = upstream_calls(http, &url).await;
        slowest_concurrent_scrape(http, &url, Encoding::Identity).await;
        upstream_calls(http, &url).await - before - one_set
    };
    rows.push((
        label(&format!(
            "upstream calls, {CONCURRENT_SCRAPES} concurrent scrapes"
        )),
        format!("{concurrent_calls}"),
        format!("one set is {one_set}; the API waits {API_LATENCY} before each reply"),
    ));
    for (name, slowest, lone) in [
        ("uncompressed", slowest, lone),
        ("gzip", slowest_gzip, lone_gzip),
    ] {
        rows.push((
            label(&format!("slowest concurrent scrape / lone scrape, {name}")),
            format!("{:.2}", slowest.as_secs_f64() / lone.as_secs_f64()),
            format!("{} / {}", milliseconds(slowest), milliseconds(lone)),
        ));
    }
    rows.push((
        label("peak resident memory, lone scrapes"),
        megabytes(peak_lone),
        String::new(),
    ));
    rows.push((
        label("peak resident memory, after the concurrent scrapes"),
        megabytes(status_bytes(pid, "VmHWM")),
        String::new(),
    ));
    rows.push((
        label("idle resident memory, before any scrape"),
        megabytes(idle),
        String::new(),
    ));

    // What no exporter can avoid: after the last page arrives, that page still has
    // to be decoded and its lines rendered. Then the whole response has to reach the
    // scraper, and under concurrent scrapes every copy of it. An exporter with a
    // cache time serves a response it has already encoded, which measures the sending
    // alone. So a scrape takes at least the direct fetch, the last page's work and
    // the serving. The slowest of the concurrent scrapes takes at least a lone scrape
    // with the serving of one response replaced by moving all copies through loopback.
    let last_page = last_page_work(http, &api_url, ports).await;
    rows.push((
        label("decoding and rendering the last page"),
        milliseconds(last_page),
        format!(
            "{} ports, in this process",
            ports - (page_count(ports) - 1) * PAGE_SIZE
        ),
    ));
    drop(exporter);
    let cached = ["--astro.cache-ttl", "1h"];
    let (_exporter, url, _) =
        start_exporter(&api_url, http, "/-/healthy", &cached, Placement::Apart).await;
    for (name, encoding, lone) in [
        ("uncompressed", Encoding::Identity, lone),
        ("gzip", Encoding::Gzip, lone_gzip),
    ] {
        let size = scrape_body(http, &url, encoding).await.1.len() as u64;
        let mut serving = Vec::new();
        for _ in 0..REPEATS {
            serving.push(scrape_body(http, &url, encoding).await.0);
        }
        let serving = median(serving);
        rows.push((
            label(&format!("serving an encoded response, {name}")),
            milliseconds(serving),
            format!("{} a response", megabytes(size)),
        ));
        if encoding == Encoding::Identity {
            rows.push((
                label("lowest reachable scrape time / direct fetch"),
                format!(
                    "{:.3}",
                    (floor + serving + last_page).as_secs_f64() / floor.as_secs_f64()
                ),
                "(direct fetch + serving + last page) / direct fetch".to_owned(),
            ));
        }
        // The concurrent scrapes need every copy sent after the last page arrives;
        // the lone scrape already includes sending one.
        let all_copies = size * CONCURRENT_SCRAPES as u64;
        let transfer = loopback_transfer(all_copies);
        rows.push((
            label(&format!(
                "lowest reachable slowest concurrent scrape / lone scrape, {name}"
            )),
            format!(
                "{:.2}",
                (lone.saturating_sub(serving) + transfer).as_secs_f64() / lone.as_secs_f64()
            ),
            format!(
                "(lone - serving + moving {} through loopback TCP) / lone; that took {}",
                megabytes(all_copies),
                milliseconds(transfer)
            ),
        ));
    }
}

async fn measure_growth(http: &reqwest::Client, rows: &mut Vec<(String, String, String)>) {
    let ports = 100;
    let (_simulator, api_url) = start_simulator(ports, Placement::Apart, &[]);
    let (exporter, url, _) =
        start_exporter(&api_url, http, "/-/healthy", &[], Placement::Apart).await;
    let mut after_first_thousand = 0;
    for count in 1..=GROWTH_SCRAPES {
        scrape(http, &url).await;
        if count == 1_000 {
            after_first_thousand = status_bytes(exporter.pid(), "VmRSS");
        }
    }
    let after_all = status_bytes(exporter.pid(), "VmRSS");
    rows.push((
        format!("resident memory growth, scrapes 1,000 to {GROWTH_SCRAPES} ({ports} ports)"),
        format!(
            "{:+.1} %",
            (after_all as f64 / after_first_thousand as f64 - 1.0) * 100.0
        ),
        format!(
            "{} then {}",
            megabytes(after_first_thousand),
            megabytes(after_all)
        ),
    ));
}

async fn measure_startup(http: &reqwest::Client, rows: &mut Vec<(String, String, String)>) {
    let (_simulator, api_url) = start_simulator(10, Placement::Apart, &[]);
    let mut times = Vec::new();
    for _ in 0..5 {
        let (_exporter, _, elapsed) =
            start_exporter(&api_url, http, "/metrics", &[], Placement::Apart).await;
        times.push(elapsed);
    }
    rows.push((
        "start-up to first served /metrics (10 ports)".to_owned(),
        milliseconds(median(times)),
        "median of 5".to_owned(),
    ));
}

fn main() {
    // `cargo bench` passes flags such as --bench; only `--quick` is ours.
    let quick = std::env::args().any(|argument| argument == "--quick");
    // On the exporter's CPUs, so that a direct fetch and a scrape read the simulated
    // API from the same CPUs.
    if let Some(lists) = CpuLists::get() {
        CpuLists::pin_this_process(&lists.exporter);
    }
    // One thread, as the exporter has, so that the direct fetch is not slowed by
    // waking other workers on the same CPUs.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .no_proxy()
            // Shorter than the exporter's 10 s limit for reading a request head, so
            // that no idle connection the exporter may have closed is used again.
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .expect("HTTP client");
        let mut rows = Vec::new();
        let sizes: &[u64] = if quick { &[1_000] } else { &[1_000, 10_000] };
        for &ports in sizes {
            measure(ports, &http, &mut rows).await;
        }
        if !quick {
            measure_growth(&http, &mut rows).await;
        }
        measure_startup(&http, &mut rows).await;

        let width = rows
            .iter()
            .map(|(name, _, _)| name.len())
            .max()
            .unwrap_or(0);
        println!("| {:width$} | value | detail |", "measurement");
        println!("| {} | --- | --- |", "-".repeat(width));
        for (name, value, detail) in rows {
            println!("| {name:width$} | {value} | {detail} |");
        }
    });
}

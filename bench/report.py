"""bench/REPORT.md and its plots, from a results document (results.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.voice import STAGES

PLOTS = {
    "stages": "plots/voice-stages.png",
    "latency": "plots/latency-by-calls.png",
    "memory": "plots/memory-by-calls.png",
}


def _cell(value: Any, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return f"{value:g}{suffix}" if isinstance(value, (int, float)) else str(value)


def _percent(share: float | None) -> str | None:
    return None if share is None else f"{100 * share:.1f} %"


CLUSTER_SYSTEMS = (
    ("one of each, SQLite", "single_sqlite"),
    ("cluster, PostgreSQL", "cluster_postgresql"),
)


def cluster_section(cluster: dict[str, Any] | None) -> list[str]:
    """Chat and calls on the cluster (PostgreSQL, Redis, nginx, two of each server) against one
    instance of each on SQLite, and the capacity worked out from them."""
    if not cluster:
        return []
    chat_rows, call_rows = [], []
    for name, key in CLUSTER_SYSTEMS:
        measured = cluster.get(key) or {}
        for level in measured.get("chat") or []:
            trip = level["round_trip_ms"]
            chat_rows.append([
                name, level["sessions"], level["throughput_per_s"], trip.get("p50"),
                trip.get("p95"), level["failed"], _busiest(level["cpu_ms_per_message"]),
            ])  # fmt: skip
        for level in measured.get("calls") or []:
            turn = level["turn_latency_ms"]
            call_rows.append([
                name, level["calls"], level["turns"], turn.get("p50"), turn.get("p95"),
                level["underruns"], level["failed"], _busiest(level["cpu_ms_per_call_second"]),
            ])  # fmt: skip
    lines = [
        "## Cluster",
        "",
        "Web chat customers through the public port (REST, answers in the request), "
        f"{cluster['think_s'][0]:.0f}-{cluster['think_s'][1]:.0f} s between messages. "
        "CPU per message: ms of CPU of each process for each answered message.",
        "",
        *_table(["system", "sessions", "messages/s", "p50 ms", "p95 ms", "failed",
                 "CPU ms per message (top 3)"], chat_rows),
    ]  # fmt: skip
    if call_rows:
        lines += [
            "Browser calls at once through the public port (the bench's caller, Whisper in the "
            "gateways). CPU per call-second: ms of CPU of each process for each second of call.",
            "",
            *_table(["system", "calls", "turns", "turn p50 ms", "turn p95 ms", "underruns",
                     "failed", "CPU ms per call-second (top 3)"], call_rows),
        ]  # fmt: skip
    return lines + _capacity_lines(cluster.get("capacity") or {})


def _busiest(cpu_ms: dict[str, float | None]) -> str:
    top = sorted(((ms, role) for role, ms in cpu_ms.items() if ms is not None), reverse=True)
    return ", ".join(f"{role} {ms}" for ms, role in top[:3])


def _capacity_lines(capacity: dict[str, Any]) -> list[str]:
    lines = []
    if "chat_sessions" in capacity:
        lines += [
            f"Capacity on paper for {capacity['chat_sessions']} chat sessions "
            f"({capacity['messages_per_s']} messages/s; {capacity['assumptions']}): "
            f"{capacity['cores_total']} cores in all, "
            + ", ".join(f"{role} {cores}" for role, cores in capacity["cores_by_process"].items())
            + ".",
            "",
        ]
    calls = capacity.get("calls")
    if calls:
        rows = [
            [level["calls"], level["cores_total"],
             ", ".join(f"{kind} {n} ({level['instances_by_process'][kind]})"
                       for kind, n in level["cores_by_process"].items()),
             level.get("machines_by_real_time")]
            for level in calls["levels"]
        ]  # fmt: skip
        per_machine = calls.get("real_time_calls_per_machine")
        lines += [
            f"Capacity on paper for calls at once ({calls['assumptions']}). By average CPU, "
            f"and by the calls this whole machine kept in real time ({per_machine}: no "
            "underrun, every turn answered, turn p95 within 1.5 s), which is the figure to "
            "plan with, since recognition comes in bursts:",
            "",
            *_table(["calls", "cores by average CPU", "cores (instances) by process",
                     "machines like this one, by real time"], rows),
        ]  # fmt: skip
    return lines


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(results: dict[str, Any]) -> str:
    run, machine = results["run"], results["run"]["machine"]
    voice, chat, handoff = results["voice"], results["chat"], results["handoff"]
    start, training = results["start"], results["training_from_scratch_s"]
    lines = [
        "# Benchmark report",
        "",
        f"Run {run['started']} on commit {run['commit']}, {machine['cpu_count']} cores, "
        f"{machine['memory_gb']} GB, Python {machine['python']}, load at start "
        f"{machine['loadavg_at_start']}; {run.get('duration_s')} s in all"
        + (" (**quick run: tiny sizes, not for comparison**)." if run["quick"] else "."),
        "",
        f"Calls: {run['stt_model']}; the bot speaks with {run.get('tts')}. The Vosk figures "
        f"under *Engines alone* are for {run.get('stt_engine_alone')}: its words for Spanish "
        "audio mean nothing, so they say what Vosk's decoding costs, never how well it "
        "understands Spanish. How everything is measured: bench/README.md.",
        "",
        *_targets_section(results),
        *_speech(results.get("speech"), results.get("spoken_intents")),
        "## Voice calls",
        "",
        f"Caller (simulated phone caller on the browser-call socket, real time): "
        f"{' / '.join(voice['caller'])} Recogniser: {voice['recognizer']}.",
        "",
        f"**Most calls at once in real time with p95 turn latency ≤ 1.5 s: "
        f"{voice['max_real_time_calls']}.**",
        "",
        "Turn latency: caller's last speech sample → first bot audio at the caller (ms). Stages "
        "(p50, ms) from the gateway's log for the same turns.",
        "",
        *_table(
            [
                "calls",
                "turns",
                "p50",
                "p95",
                "max",
                *[f"{s} p50" for s in STAGES],
                "processing p95",
                "STT backlog max",
                "barge-in p95",
                "underruns",
                "real time",
            ],
            [
                [
                    level["calls"],
                    level["turn_latency_ms"]["n"],
                    level["turn_latency_ms"].get("p50"),
                    level["turn_latency_ms"].get("p95"),
                    level["turn_latency_ms"].get("max"),
                    *[level["stages_ms"][stage].get("p50") for stage in STAGES],
                    level["stages_ms"]["processing"].get("p95"),
                    level["decode_backlog_ms"].get("max"),
                    level["barge_in_ms"].get("p95"),
                    level["underruns"],
                    level["real_time"],
                ]
                for level in voice["levels"]
            ],
        ),
        "Resources per level: peak resident memory (MB) and CPU in cores per call.",
        "",
        *_table(
            [
                "calls",
                "gateway MB",
                "rasa MB",
                "actions MB",
                "gateway cores/call",
                "rasa cores/call",
                "STT RTF per stream p50",
                "recognizers busy",
                "failures",
            ],
            [
                [
                    level["calls"],
                    level["peak_rss_mb"].get("gateway"),
                    level["peak_rss_mb"].get("rasa"),
                    level["peak_rss_mb"].get("action server"),
                    level["cpu_cores_per_call"].get("gateway"),
                    level["cpu_cores_per_call"].get("rasa"),
                    level["stt"]["rtf_per_stream"].get("p50"),
                    level["stt"]["recognizers_busy"],
                    ", ".join(f"{k}: {v}" for k, v in level["failures"].items()) or "none",
                ]
                for level in voice["levels"]
            ],
        ),
        f"At rest: {results['resting_rss_mb']} MB. Each added call: "
        f"{voice['rss_mb_per_added_call']} MB (slope over the levels).",
        "",
        f"![Stage latencies]({PLOTS['stages']})",
        f"![Latency against calls]({PLOTS['latency']})",
        f"![Memory against calls]({PLOTS['memory']})",
        "",
        "## Handoff",
        "",
        "Chat steps are timed on the customer's events socket, except *agent message to customer "
        "screen*: the desk's POST of the agent's message → its bubble added to the customer's "
        "chat page in headless Chromium.",
        "",
        *_table(
            ["step", "n", "p50 ms", "p95 ms", "max ms"],
            [
                [
                    f"{channel}: {name.replace('_', ' ')}",
                    s["n"],
                    s.get("p50"),
                    s.get("p95"),
                    s.get("max"),
                ]
                for channel in ("voice", "chat")
                for name, s in handoff[channel].items()
                if isinstance(s, dict) and "n" in s
            ],
        ),
        *_phone(results.get("phone")),
        *faults_section(results.get("faults")),
        "## Chat",
        "",
        "Round trip: message sent on the customer's socket → the bot's answer on it (ms); the "
        "same messages straight to Rasa's webchat webhook for the gateway's overhead.",
        "",
        *_table(
            [
                "sessions",
                "think s",
                "n",
                "p50",
                "p95",
                "max",
                "Rasa p50",
                "Rasa p95",
                "overhead p50 ms",
                "overhead share",
                "msg/s",
                "failures",
            ],
            [
                [
                    level["sessions"],
                    "–".join(f"{t:g}" for t in level["think_s"]),
                    level["gateway"]["round_trip_ms"]["n"],
                    level["gateway"]["round_trip_ms"].get("p50"),
                    level["gateway"]["round_trip_ms"].get("p95"),
                    level["gateway"]["round_trip_ms"].get("max"),
                    level["straight_to_rasa"]["round_trip_ms"].get("p50"),
                    level["straight_to_rasa"]["round_trip_ms"].get("p95"),
                    level["gateway_overhead_p50_ms"],
                    _percent(level["gateway_overhead_share"]),
                    level["gateway"]["messages_per_s"],
                    ", ".join(f"{k}: {v}" for k, v in level["gateway"]["failures"].items())
                    or "none",
                ]
                for level in chat["levels"]
            ],
        ),
        *_engines(results),
        *cluster_section(results.get("cluster")),
        "## Start and training",
        "",
        f"- `make run` until the gateway answers its health check: {start['health_s']} s; "
        f"until every server is ready and warmed up: {start['serving_s']} s.",
        f"- Training from scratch (empty cache): {_cell(training, ' s')}.",
        "",
    ]
    return "\n".join(lines)


def _phone(phone: dict[str, Any] | None) -> list[str]:
    """Issue 8: the same caller on a Twilio line (8 kHz μ-law) and on the call page."""
    if not phone:
        return []
    inside = phone.get("gateway_speech_end_to_first_audio_ms", {})
    rows = [
        [name, phone[key].get("n"), phone[key].get("p50"), phone[key].get("p95")]
        for name, key in (
            ("browser call: turn latency", "browser_turn_latency_ms"),
            ("phone call: turn latency", "phone_turn_latency_ms"),
            ("browser call: barge-in (pause)", "browser_barge_in_ms"),
            ("phone call: clear after speech onset", "phone_clear_after_onset_ms"),
        )
    ]
    levels = [
        [level["calls"], level["turn_latency_ms"].get("p50"), level["turn_latency_ms"].get("p95"),
         level["decode_backlog_ms"].get("max"), level["underruns"],
         "yes" if level["real_time"] else "no"]
        for level in phone.get("levels", [])
    ]  # fmt: skip
    return [
        "",
        "## Phone calls (Twilio Media Streams)",
        "",
        "One call at a time, browser and phone in turn with the same lines; turn latency is the "
        "caller's last speech sample → the first bot audio (ms). Phone p50 over browser p50: "
        f"{phone.get('phone_over_browser_p50_ms')} ms. Inside the gateway (its `call.turn` "
        "lines: the VAD's speech end → first bot audio out), p50: browser "
        f"{inside.get('browser', {}).get('p50')} ms, "
        f"phone {inside.get('phone', {}).get('p50')} ms.",
        "",
        *_table(["measure", "n", "p50 ms", "p95 ms"], rows),
        "",
        *_table(
            ["phone calls at once", "p50 ms", "p95 ms", "max backlog ms", "underruns", "real time"],
            levels,
        ),
        "",
    ]


def _speech(speech: dict[str, Any] | None, spoken: dict[str, Any] | None) -> list[str]:
    """Issue 16: Whisper on real and synthetic Spanish, its windows, and what noise became."""
    if not speech:
        return []
    real, phone = speech["real_voices_16k"], speech["real_voices_phone"]
    prompts, noise = speech["bot_prompts"], speech["non_speech"]
    sounds = [name for name in noise if name != "total_became_text"]
    return [
        "## Spanish speech (Whisper)",
        "",
        f"Model {speech['model']}, beam {speech['options']['beam']}, window "
        f"{speech['options']['window_s']} s, threads {speech['options']['threads']}.",
        "",
        *_table(
            ["what was recognised", "items", "word error rate", "decode p50", "decode p95"],
            [
                [
                    "Asterisk prompts, real voices, 16 kHz",
                    real["prompts"],
                    _percent(real["wer"]),
                    _cell(real["decode_ms"].get("p50"), " ms"),
                    _cell(real["decode_ms"].get("p95"), " ms"),
                ],
                [
                    "the same through a phone line (8 kHz μ-law)",
                    phone["prompts"],
                    _percent(phone["wer"]),
                    _cell(phone["decode_ms"].get("p50"), " ms"),
                    _cell(phone["decode_ms"].get("p95"), " ms"),
                ],
                [
                    f"the bot's fixed prompts, {prompts['chosen']['engine']}",
                    prompts["prompts"],
                    _percent(prompts["chosen"]["wer"]),
                    None,
                    None,
                ],
                [
                    f"the bot's fixed prompts, {prompts['espeak-ng']['engine']}",
                    prompts["prompts"],
                    _percent(prompts["espeak-ng"]["wer"]),
                    None,
                    None,
                ],
            ],
        ),  # fmt: skip
        "",
        "The encoder window (each turn padded to it; longer turns to their length + 2 s) and the "
        "beam:",
        "",
        *_table(
            ["window", "beam", "prompts", "word error rate", "decode p50", "decode p95"],
            [
                [
                    f"{w['window_s']:g} s",
                    w["beam"],
                    w["prompts"],
                    _percent(w["wer"]),
                    _cell(w["decode_ms"].get("p50"), " ms"),
                    _cell(w["decode_ms"].get("p95"), " ms"),
                ]
                for w in speech["window_sweep"]
            ],
        ),  # fmt: skip
        "",
        "Sounds that are not speech, through the call's VAD and Whisper: "
        + ", ".join(
            f"{name} {noise[name]['became_text']} of {noise[name]['sounds']}" for name in sounds
        )
        + f" became caller text (**{noise['total_became_text']} in all**).",
        "",
        *(
            [
                f"Held-out NLU sentences ({spoken['sentences']}): intent accuracy typed "
                f"{spoken['typed_accuracy']}, spoken by Pico and recognised "
                f"**{spoken['spoken_accuracy']}**.",
                "",
            ]
            if spoken
            else []
        ),
    ]


def _engines(results: dict[str, Any]) -> list[str]:
    stt, tts, ratios = results["stt"], results["tts"], results["ratios"]
    fresh_ratio = ratios["fresh_synthesis_over_cached_prompt"] or 0.0
    return [
        "## Engines alone (side by side, same run)",
        "",
        f"- STT over {stt['recording']} ({stt['speech_s']} s of caller speech in "
        f"{stt['recording_s']} s): bare Vosk loop {stt['bare_vosk_s']} s (RTF "
        f"{stt['bare_vosk_rtf']}), our VAD + STT stages {stt['our_stt_s']} s over the whole "
        f"recording ({stt['turns_found']} turns found): "
        f"**ratio {stt['pipeline_overhead_ratio']}**.",
        f"- Cached prompt {tts['cached_prompt_us'].get('p50')} µs against fresh synthesis "
        f"{tts['fresh_synthesis_ms'].get('p50')} ms (p50 of {tts['sentences']} sentences × "
        f"{tts['rounds']}): **fresh is {fresh_ratio:.0f}× slower**.",
        "- Gateway overhead, share of the chat round trip: "
        + ", ".join(
            f"{_percent(share)} with {sessions} session(s)"
            for sessions, share in ratios["gateway_overhead_share_by_sessions"].items()
        )
        + ".",
        "",
        *_table(
            [
                "recognizers at once",
                "RTF per stream p50",
                "RTF total",
                "real-time streams possible",
            ],
            [
                [
                    s["streams"],
                    s["rtf_per_stream"].get("p50"),
                    s["rtf_total"],
                    s["real_time_streams_possible"],
                ]
                for s in stt["concurrent"]
            ],
        ),
    ]


def render_plots(results: dict[str, Any], out: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    (out / "plots").mkdir(parents=True, exist_ok=True)
    levels = results["voice"]["levels"]

    figure = Figure(figsize=(12, 7))
    names = ["turn_latency_ms", *STAGES]
    shown = [
        level
        for level in levels
        if level["calls"] in (1, max(results["voice"]["max_real_time_calls"], 1))
    ]
    for index, name in enumerate(names):
        axes = figure.add_subplot(2, 3, index + 1)
        for level in shown:
            values = level["samples"].get(name, [])
            if values:
                axes.hist(values, bins=15, alpha=0.6, label=f"{level['calls']} call(s)")
        axes.set_title(name.replace("_", " "))
        axes.set_xlabel("ms")
        axes.legend(fontsize=7)
    figure.suptitle("Voice turn latency and its stages")
    figure.tight_layout()
    FigureCanvasAgg(figure).print_png(str(out / PLOTS["stages"]))

    calls = [level["calls"] for level in levels]
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    for key in ("p50", "p95"):
        axes.plot(
            calls, [level["turn_latency_ms"].get(key) for level in levels], marker="o", label=key
        )
    axes.axhline(1500, color="grey", linestyle="--", label="1.5 s")
    axes.set_xscale("log", base=2)
    axes.set_xticks(calls, [str(c) for c in calls])
    axes.set_xlabel("calls at once")
    axes.set_ylabel("turn latency (ms)")
    axes.legend()
    figure.tight_layout()
    FigureCanvasAgg(figure).print_png(str(out / PLOTS["latency"]))

    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    resting = results["resting_rss_mb"]
    for role in resting:
        axes.plot(
            [0, *calls],
            [resting[role], *[level["peak_rss_mb"].get(role) for level in levels]],
            marker="o",
            label=role,
        )
    axes.set_xlabel("calls at once")
    axes.set_ylabel("peak resident memory (MB)")
    axes.legend()
    figure.tight_layout()
    FigureCanvasAgg(figure).print_png(str(out / PLOTS["memory"]))


def faults_section(faults: dict[str, Any] | None) -> list[str]:
    """Issue "Survive faults": what customers and callers met while the servers were killed or
    stalled, per fault kind, and the same load outside the faults."""
    if not faults:
        return []
    plan, outside, overall = faults["plan"], faults["outside"], faults["overall"]
    kinds = faults["by_kind"]
    quick = " (**quick run**)" if faults.get("run", {}).get("quick") else ""
    titles = ", ".join(figures["title"] for figures in kinds.values()) or "none"

    def chat_row(name: str, figures: dict[str, Any], recovery: list[Any]) -> list[Any]:
        chat = figures["chat"]
        return [name, *recovery, chat["sent"], chat["answered"], chat["handed_off"],
                chat["lost"], chat["longest_silence_s"]]  # fmt: skip

    def call_row(name: str, calls: dict[str, Any]) -> list[Any]:
        return [name, calls["calls"], calls["calls_dropped"], calls["calls_not_connected"],
                calls["turns"], calls["answered"], calls["handed_off"], calls["lost"],
                calls["dropped"], calls["longest_silence_s"]]  # fmt: skip

    def each(values: list[float]) -> str:
        return ", ".join(f"{value:g}" for value in values) or "–"

    chat_rows = [
        chat_row(f["title"], f, [f["faults"], each(f["recovery_s"]), f["recovery_max_s"]])
        for f in kinds.values()
    ]
    chat_rows.append(chat_row("outside the faults", outside, ["", "", None]))
    chat_rows.append(chat_row("all", overall, [len(faults.get("run", {}).get("injected", [])),
                                               "", None]))  # fmt: skip
    call_rows = [call_row(f["title"], f["calls"]) for f in kinds.values()]
    call_rows += [call_row("outside the faults", outside["calls"]),
                  call_row("all", overall["calls"])]  # fmt: skip
    chat_latency, call_latency = outside["chat"]["latency_ms"], outside["calls"]["turn_latency_ms"]
    saved = faults["saved"]
    return [
        "",
        "## Surviving faults (soak)",
        "",
        f"{faults['wall_s']:g} s (planned {plan['duration_s']:g} s){quick} of "
        f"{plan['chat_sessions']} chat customers (a pause of "
        f"{'–'.join(f'{t:g}' for t in plan['think_s'])} s before each message, one short "
        f"script per conversation) and {plan['calls']} phone caller(s) on Twilio lines (the "
        "greeting, one question in Pico's voice, the reply, hang up, again), with a fault every "
        f"{plan['interval_s']:g} s in turn: {titles}. Rasa's SIGCONT comes {plan['stop_s']:g} s "
        "after its SIGSTOP.",
        "",
        "A message or a caller's turn counts under the fault whose window it met (from the "
        "fault until the process answered its health check again, plus "
        f"{plan['grace_s']:g} s: sent in the window, or still waiting for its reply when it "
        "opened); the rest is *outside the faults*. Silence: in a chat, the first attempt → "
        "the reply (an answer, or the apology and a person); in a call, the end of the "
        "caller's line → the first bot audio. Lost: a chat message neither answered nor handed "
        f"off after {plan['retry_budget_s']:g} s of retries with the chat page's back-off; a "
        f"caller's line without any bot audio for {plan['call_reply_timeout_s']:g} s on a line "
        "still up.",
        "",
        *_table(
            [
                "fault",
                "times",
                "recovery s (each)",
                "worst recovery s",
                "chat sent",
                "answered",
                "handed off",
                "lost",
                "longest silence s",
            ],
            chat_rows,
        ),  # fmt: skip
        *_table(
            [
                "fault",
                "calls",
                "calls dropped",
                "not connected",
                "caller turns",
                "answered",
                "handed off",
                "lost",
                "dropped",
                "longest silence s",
            ],
            call_rows,
        ),  # fmt: skip
        f"Outside the fault windows: chat reply p50 {_cell(chat_latency.get('p50'), ' ms')}, "
        f"**p95 {_cell(chat_latency.get('p95'), ' ms')}** ({chat_latency['n']} messages); "
        f"caller turn (end of the line → first bot audio) p50 "
        f"{_cell(call_latency.get('p50'), ' ms')}, **p95 {_cell(call_latency.get('p95'), ' ms')}"
        f"** ({call_latency['n']} turns).",
        "",
        f"Saved: after the soak every chat conversation ({saved['conversations']}) was read "
        f"back: of the {saved['acknowledged']} messages the gateway had acknowledged, "
        f"**{saved['missing']} missing** ({saved['unreadable']} conversations unreadable)."
        + (f" Lost because: {faults['lost_reasons']}." if faults.get("lost_reasons") else "")
        + (f" Harness problems: {faults['problems']}." if faults.get("problems") else ""),
        "",
        "- A call's *handed off* is read from the gateway's database (a phone line shows no "
        "events). A call's silence holds the whole voice turn (Whisper, the dialogue, Pico): "
        "compare it with the p95 outside the faults.",
        "- A *dropped* call is a Media Stream that ended with the gateway, not a caller left in "
        "silence: on a real line Twilio then follows the TwiML after `<Connect><Stream>` (with "
        "`BOT_TWILIO_AUTH_TOKEN` set, a `<Say>` and the transfer number or how else to reach "
        "us). The benchmark has no Twilio account: its stream just ends.",
        "- While the Rasa server is stopped the gateway waits for it up to `BOT_REPLY_TIMEOUT` "
        f"({plan.get('reply_timeout_s', 5):g} s in this run) before the apology and a person: "
        "a stall's silence is the shorter of that and the stall.",
        "",
    ]


def _targets_section(results: dict[str, Any]) -> list[str]:
    return [
        "## Targets",
        "",
        *_table(
            ["figure", "target", "measured", "met"],
            [
                [t["name"], t["target"], _cell(t["measured"], " " + t["unit"]), t["met"]]
                for t in results["targets"]
            ],
        ),
    ]


def render_faults_report(results: dict[str, Any]) -> str:
    """REPORT.md for a results document that holds only the soak (`python -m bench faults`
    without a full run's results.json beside it)."""
    lines = [
        "# Benchmark report: faults only",
        "",
        "Only `python -m bench faults` ran; `make bench` measures everything else. How it is "
        "measured: bench/README.md.",
        "",
        *_targets_section(results),
        *faults_section(results.get("faults")),
    ]
    return "\n".join(lines)

//! Every message kind through every crash window, with the functions' adapters talking to the
//! local endpoint through a fault-injecting proxy: the message must reach the topic within two
//! ticks after the fault clears, once — twice only where a publish's answer was lost, with the
//! same dedupe key.

use std::time::Duration;

use overrun_aws::{Adapters, CallLimits, SnsNotifier};
use overrun_integration_tests::endpoint;
use overrun_integration_tests::fault_proxy::{Fault, FaultProxy, Rule};

use super::*;

/// The functions' limits, shortened so that a hung call fails in about a second.
pub(crate) fn fast_limits() -> CallLimits {
    CallLimits {
        connect: Duration::from_millis(500),
        attempt: Duration::from_millis(1_000),
        operation: Duration::from_millis(2_500),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Warning,
    Critical,
    Resolved,
    TooShort,
    /// A scheduled type's missed start (a warning on its incident's item).
    Missed,
    /// The late start that ends the incident.
    StartedAgain,
}

impl Kind {
    /// The claim's attribute, as the UpdateItem bodies name it.
    fn claim_attribute(self) -> &'static str {
        match self {
            Kind::Warning => "\"alert_warning\"",
            Kind::Critical => "\"alert_critical\"",
            Kind::Resolved | Kind::StartedAgain => "\"resolution\"",
            Kind::TooShort => "\"notice\"",
            Kind::Missed => "\"alert_warning\"",
        }
    }

    /// What tells this kind's publish apart (a message attribute's value).
    fn publish_marker(self) -> &'static str {
        match self {
            Kind::Warning => "StringValue=warning",
            Kind::Critical => "StringValue=critical",
            Kind::Resolved | Kind::StartedAgain => "StringValue=resolved",
            Kind::TooShort => "StringValue=too_short",
            Kind::Missed => "StringValue=missed",
        }
    }

    fn alert_id(self) -> &'static str {
        match self {
            Kind::Warning => "etl/slow/warning",
            Kind::Critical => "etl/slow/critical",
            Kind::Resolved => "etl/slow/resolved",
            Kind::TooShort => "etl/quick/too_short",
            Kind::Missed => "export/missed-20241004T0205Z/warning",
            Kind::StartedAgain => "export/missed-20241004T0205Z/resolved",
        }
    }

    /// The claim's write: on the incident's item for a missed start's messages.
    fn claim(self, fault: Fault) -> Rule {
        let rule = Rule::new("UpdateItem", fault).containing(self.claim_attribute());
        match self {
            Kind::Missed | Kind::StartedAgain => rule.containing("\"MISSED\""),
            _ => rule,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    /// The publish never answers (each attempt times out).
    PublishHangs,
    /// The publish hangs and the invocation is killed at its timeout: no release, no mark.
    KilledAtTimeout,
    /// The claim is applied and its answer lost; the SDK retries it.
    ClaimAnswerLost,
    /// Every publish attempt fails, then every attempt to release the claim.
    PublishAndReleaseFail,
    /// The publish is delivered and its answer lost; the SDK retries it.
    PublishAnswerLost,
}

impl Window {
    fn rules(self, kind: Kind) -> Vec<Rule> {
        let publish = |fault| Rule::new("Publish", fault).containing(kind.publish_marker());
        match self {
            Window::PublishHangs | Window::KilledAtTimeout => vec![publish(Fault::Hang).times(usize::MAX)],
            Window::ClaimAnswerLost => vec![kind.claim(Fault::ResetAfter).containing("\":claim\"")],
            Window::PublishAndReleaseFail => vec![
                publish(Fault::ServerError).times(3),
                kind.claim(Fault::Throttle).containing("\":zero\"").times(3),
            ],
            Window::PublishAnswerLost => vec![publish(Fault::ResetAfter)],
        }
    }
}

/// Brings the stack to the moment `kind`'s message is due; returns that moment.
async fn prepare(stack: &Stack, kind: Kind) -> i64 {
    if matches!(kind, Kind::Missed | Kind::StartedAgain) {
        return prepare_missed(stack, kind).await;
    }
    etl_history(stack).await;
    nightly(stack, NIGHT + MS_PER_HOUR).await;
    // The warning limit is ≈ 953 s, the critical one twice that.
    match kind {
        Kind::Warning => {
            ingest(&task_event("etl", "slow", "STARTED", NOON - 1_000 * S), &stack.adapters.runs).await
        }
        Kind::Critical => {
            ingest(&task_event("etl", "slow", "STARTED", NOON - 2_500 * S), &stack.adapters.runs).await
        }
        Kind::Resolved => {
            ingest(&task_event("etl", "slow", "STARTED", NOON - 1_000 * S), &stack.adapters.runs)
                .await
                .unwrap();
            check(stack, NOON, "clean-tick").await;
            ingest(&task_event("etl", "slow", "FAILED", NOON + 300 * S), &stack.adapters.runs).await.unwrap();
            stack.received().await;
            return NOON + 600 * S;
        }
        Kind::Missed | Kind::StartedAgain => unreachable!("prepared above"),
        // Expected ≈ 735 s: a run of 42 s is far below.
        Kind::TooShort => {
            ingest(&task_event("etl", "quick", "STARTED", NOON - 42 * S), &stack.adapters.runs).await
        }
    }
    .unwrap();
    NOON
}

/// "export" is due daily at about 02:05 and never starts on `NIGHT`'s day (no other type is
/// scheduled).
async fn prepare_missed(stack: &Stack, kind: Kind) -> i64 {
    super::missed_starts::export_history(stack).await;
    nightly(stack, NIGHT + MS_PER_HOUR).await;
    let paged_at = NIGHT + 3 * MS_PER_HOUR;
    if kind == Kind::Missed {
        return paged_at;
    }
    check(stack, paged_at, "clean-tick").await;
    let late = paged_at + 15 * 60 * S;
    ingest(&task_event("export", "export-0", "STARTED", late), &stack.adapters.runs).await.unwrap();
    stack.received().await;
    late + 5 * 60 * S
}

/// What a function invocation does at `at`: the checker's tick, or ingest of the too-short
/// run's finish. `true` when it succeeded.
async fn invoke(
    stack: &Stack,
    adapters: &Adapters,
    notifier: &SnsNotifier,
    kind: Kind,
    at: i64,
    owner: &str,
) -> bool {
    if kind == Kind::TooShort {
        let settings = NoticeSettings {
            rule: stack.config.short,
            claim: owner,
            now: at,
            policy: &stack.config.policy,
            retention_ms: i64::from(stack.config.retention_days) * MS_PER_DAY,
            clock_skew_ms: stack.config.clock_skew_ms,
            seasons: None,
        };
        let finished = task_event("etl", "quick", "SUCCEEDED", NOON);
        return handle_and_notify(
            &finished,
            &overrun_integration_tests::home(),
            adapters,
            notifier,
            &settings,
        )
        .await
        .is_ok();
    }
    !tick_through(stack, adapters, notifier, at, owner).await.failed()
}

/// The dedupe keys of the messages received since the last read.
async fn received_ids(stack: &Stack) -> Vec<String> {
    stack
        .received()
        .await
        .iter()
        .map(|envelope| {
            let attribute = envelope["MessageAttributes"]["alert_id"]["Value"].as_str().unwrap_or_default();
            assert_eq!(message(envelope)["alert_id"], attribute, "the attribute and the JSON field agree");
            attribute.to_owned()
        })
        .collect()
}

async fn crash_window(kind: Kind, window: Window) {
    let stack = Stack::new().await;
    let at = prepare(&stack, kind).await;
    let proxy = FaultProxy::start(&endpoint()).await;
    let (adapters, notifier) = stack.through(&proxy.url, fast_limits()).await;
    for rule in window.rules(kind) {
        proxy.add(rule);
    }

    // Killed after the claim, while the publish hangs (before the SDK's own 2.5 s operation
    // timeout), with room for a slow endpoint before the claim.
    let first = if window == Window::KilledAtTimeout {
        let killed = tokio::time::timeout(
            Duration::from_millis(1_500),
            invoke(&stack, &adapters, &notifier, kind, at, "first"),
        );
        killed.await.unwrap_or(false)
    } else {
        invoke(&stack, &adapters, &notifier, kind, at, "first").await
    };
    let mut ids = received_ids(&stack).await;
    let injected = proxy.seen().iter().filter(|seen| seen.fault.is_some()).count();
    assert!(injected > 0, "{kind:?}/{window:?}: the fault was injected");
    if window == Window::ClaimAnswerLost {
        assert!(first, "{kind:?}: the invocation whose claim's answer was lost succeeds");
        let at_once = ids.iter().filter(|id| *id == kind.alert_id()).count();
        assert_eq!(at_once, 1, "{kind:?}: it recognised its own claim and sent the message at once: {ids:?}");
    }
    proxy.heal();
    if !first {
        // Lambda retries a failed invocation about a minute later.
        invoke(&stack, &adapters, &notifier, kind, at + 60 * S, "lambda-retry").await;
    }
    // Two ticks after the fault cleared.
    for (tick, owner) in [(at + 600 * S, "next-tick"), (at + 1_200 * S, "tick-after")] {
        let healed = invoke_tick(&stack, &adapters, &notifier, tick, owner).await;
        assert!(healed, "{kind:?}/{window:?}: a tick failed after the fault cleared");
    }
    ids.extend(received_ids(&stack).await);

    let delivered = ids.iter().filter(|id| *id == kind.alert_id()).count();
    let lost_answers = proxy.count("Publish", Fault::ResetAfter, &[kind.publish_marker()]);
    match window {
        Window::PublishAnswerLost => {
            assert_eq!(lost_answers, 1);
            assert_eq!(
                delivered, 2,
                "{kind:?}/{window:?}: the lost answer's retry repeats it, same key: {ids:?}"
            );
        }
        _ => assert_eq!(delivered, 1, "{kind:?}/{window:?}: delivered exactly once: {ids:?}"),
    }
}

/// A checker tick (whatever the kind: it also sends undelivered notices).
async fn invoke_tick(
    stack: &Stack,
    adapters: &Adapters,
    notifier: &SnsNotifier,
    at: i64,
    owner: &str,
) -> bool {
    invoke(stack, adapters, notifier, Kind::Warning, at, owner).await
}

macro_rules! crash_window_tests {
    ($($name:ident: $kind:ident, $window:ident;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                crash_window(Kind::$kind, Window::$window).await;
            }
        )*
    };
}

crash_window_tests! {
    warning_is_delivered_after_a_publish_that_hangs: Warning, PublishHangs;
    warning_is_delivered_after_the_checker_is_killed_at_its_timeout: Warning, KilledAtTimeout;
    warning_is_delivered_once_when_its_claims_answer_is_lost: Warning, ClaimAnswerLost;
    warning_is_delivered_after_its_publish_and_release_both_fail: Warning, PublishAndReleaseFail;
    warning_is_repeated_with_its_dedupe_key_when_the_publish_answer_is_lost: Warning, PublishAnswerLost;
    critical_is_delivered_after_a_publish_that_hangs: Critical, PublishHangs;
    critical_is_delivered_after_the_checker_is_killed_at_its_timeout: Critical, KilledAtTimeout;
    critical_is_delivered_once_when_its_claims_answer_is_lost: Critical, ClaimAnswerLost;
    critical_is_delivered_after_its_publish_and_release_both_fail: Critical, PublishAndReleaseFail;
    critical_is_repeated_with_its_dedupe_key_when_the_publish_answer_is_lost: Critical, PublishAnswerLost;
    resolved_is_delivered_after_a_publish_that_hangs: Resolved, PublishHangs;
    resolved_is_delivered_after_the_checker_is_killed_at_its_timeout: Resolved, KilledAtTimeout;
    resolved_is_delivered_once_when_its_claims_answer_is_lost: Resolved, ClaimAnswerLost;
    resolved_is_delivered_after_its_publish_and_release_both_fail: Resolved, PublishAndReleaseFail;
    resolved_is_repeated_with_its_dedupe_key_when_the_publish_answer_is_lost: Resolved, PublishAnswerLost;
    too_short_notice_is_delivered_after_a_publish_that_hangs: TooShort, PublishHangs;
    too_short_notice_is_delivered_after_ingest_is_killed_at_its_timeout: TooShort, KilledAtTimeout;
    too_short_notice_is_delivered_once_when_its_claims_answer_is_lost: TooShort, ClaimAnswerLost;
    too_short_notice_is_delivered_after_its_publish_and_release_both_fail: TooShort, PublishAndReleaseFail;
    too_short_notice_is_repeated_with_its_dedupe_key_when_the_publish_answer_is_lost: TooShort, PublishAnswerLost;
    missed_start_is_delivered_after_a_publish_that_hangs: Missed, PublishHangs;
    missed_start_is_delivered_after_the_checker_is_killed_at_its_timeout: Missed, KilledAtTimeout;
    missed_start_is_delivered_once_when_its_claims_answer_is_lost: Missed, ClaimAnswerLost;
    missed_start_is_delivered_after_its_publish_and_release_both_fail: Missed, PublishAndReleaseFail;
    missed_start_is_repeated_with_its_dedupe_key_when_the_publish_answer_is_lost: Missed, PublishAnswerLost;
    start_after_a_missed_one_is_delivered_after_a_publish_that_hangs: StartedAgain, PublishHangs;
    start_after_a_missed_one_is_delivered_after_the_checker_is_killed_at_its_timeout: StartedAgain, KilledAtTimeout;
    start_after_a_missed_one_is_delivered_once_when_its_claims_answer_is_lost: StartedAgain, ClaimAnswerLost;
    start_after_a_missed_one_is_delivered_after_its_publish_and_release_both_fail: StartedAgain, PublishAndReleaseFail;
    start_after_a_missed_one_is_repeated_with_its_dedupe_key_when_the_publish_answer_is_lost: StartedAgain, PublishAnswerLost;
}

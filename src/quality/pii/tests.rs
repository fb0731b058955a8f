//! Redaction tests: exact outputs per format, negatives, and proptests.

use std::sync::LazyLock;

use proptest::prelude::*;

use super::*;

static R: LazyLock<Redactor> = LazyLock::new(Redactor::new);

fn redact(s: &str) -> Redacted {
    R.redact(s)
}

#[test]
fn luhn() {
    for ok in "4111111111111111 5500005555555559 378282246310005 6011111111111117 4111-1111-1111-1111".split(' ') {
        assert!(luhn_valid(ok), "{ok}");
    }
    for bad in "4111111111111112,,0,123456789012,41111111111111111111,4111 1111 1111 1112".split(',') {
        assert!(!luhn_valid(bad), "{bad}");
    }
}

/// `input => expected output` (`=`: unchanged). Each kind's count must equal the number of
/// its placeholders in the expected output.
const CASES: &str = "\
    card 4111 1111 1111 1111 ok => card [CARD] ok
    card 4111-1111-1111-1111 => card [CARD]
    amex 378282246310005 => amex [CARD]
    card 4111 1111 1111 1111 12/25 => card [CARD] 12/25
    card 2 4111111111111111 => card 2 [CARD]
    mail jane.doe+shop@mail.example.co.uk now => mail [EMAIL] now
    mail josé@exämple.de => mail [EMAIL]
    call +14155552671 => call [PHONE]
    call +44 20 7946 0958 => call [PHONE]
    call +49 (0)30 1234567 => call [PHONE]
    call (415) 555-2671 => call [PHONE]
    call 415-555-2671 => call [PHONE]
    call 415.555.2671 => call [PHONE]
    call 020 7946 0958 => call [PHONE]
    call +91 98765 43210 => call [PHONE]
    call 0049 30 1234567 => call [PHONE]
    call +44 20 7946 0958 2024 05 ok => call [PHONE] 2024 05 ok
    ship to 221B Baker Street, London => ship to [ADDRESS], London
    ship to 1600 Pennsylvania Ave NW please => ship to [ADDRESS] please
    at 42 Wallaby Way, Sydney => at [ADDRESS], Sydney
    at 12 Elm Rd., Apt 4B! => at [ADDRESS]!
    at 7 old mill Lane Suite 200 => at [ADDRESS]
    costs $1,299.99 or 1299.00 => =
    delivered 2024-05-01 or 05/01/2024 => =
    5000 mAh battery, 12 pack => =
    SKU-12345 and ABC123456 => =
    order #100234 and order 4111111111111112 or 4111-1111-1111-1112 => =
    a 2 way radio with 3 drive bays => =
    size 10 in 2 colours, 3 lane highway => =
    Samsung 2 TB External Drive, USB 3.0 Flash Drive => =
    call me maybe at 12345 => =
    I'm a@x.io, +44 20 7946 0958 or 415.555.2671, 9 High Street. => I'm [EMAIL], [PHONE] or [PHONE], [ADDRESS].";

#[test]
fn cases() {
    for (input, expected) in CASES
        .lines()
        .map(|l| l.trim().split_once(" => ").expect("input => output"))
    {
        let expected = if expected == "=" { input } else { expected };
        let r = redact(input);
        assert_eq!(r.text, expected, "{input}");
        for kind in PiiKind::ALL {
            assert_eq!(
                r.count(kind),
                expected.matches(kind.placeholder()).count(),
                "{input}: {kind:?}"
            );
        }
    }
}

#[test]
fn mixed_text_counts_each_kind() {
    let r = redact("Mail a@b.io or call 415-555-2671 / +44 20 7946 0958; card 5500 0055 5555 5559, 9 High St.");
    assert_eq!(
        (r.counts, r.total(), r.count(PiiKind::Phone)),
        ([1, 2, 1, 1], 5, 2),
        "{}",
        r.text
    );
    let labels = PiiKind::ALL.map(|k| (k.as_str(), k.placeholder()));
    assert_eq!(labels[3], ("address", "[ADDRESS]"));
    fn send_sync<T: Send + Sync + Default>() {}
    send_sync::<Redactor>();
}

fn card_from(body: &[u32]) -> String {
    let body: String = body.iter().filter_map(|&d| char::from_digit(d, 10)).collect();
    let check = (0..10).find(|d| luhn_valid(&format!("{body}{d}"))).unwrap_or_default();
    format!("{body}{check}")
}

fn assert_idempotent(s: &str) -> Result<(), TestCaseError> {
    let once = redact(s);
    let twice = redact(&once.text);
    prop_assert_eq!(&twice.text, &once.text, "input {:?}", s);
    prop_assert_eq!(twice.total(), 0);
    Ok(())
}

proptest! {
    #[test]
    fn any_text_is_safe_and_idempotent(s in any::<String>()) {
        assert_idempotent(&s)?;
    }

    #[test]
    fn phone_like_text_is_idempotent(s in "[a-zA-Z0-9 @.+()-]{0,200}") {
        assert_idempotent(&s)?;
    }

    #[test]
    fn pieces_are_idempotent(parts in prop::collection::vec(prop_oneof![
        Just("4111 1111 1111 1111"), Just("+44 20 7946 0958"), Just("(415) 555-2671"), Just("a@b.co"),
        Just("12 Baker Street"), Just("Apt 4B"), Just("0"), Just("Way"), Just(" "), Just("-"), Just("."),
        Just("("), Just(")"), Just("+"), Just("12"), Just("345"),
    ], 0..30)) {
        assert_idempotent(&parts.concat())?;
    }

    #[test]
    fn valid_cards_never_survive(
        body in prop::collection::vec(0u32..10, 15),
        dashed in any::<bool>(),
        pre in "[a-z0-9 ]{0,12}",
        post in "[a-z0-9 /]{0,12}",
    ) {
        let card = card_from(&body);
        prop_assert!(luhn_valid(&card));
        let sep = if dashed { "-" } else { " " };
        let grouped = [&card[..4], &card[4..8], &card[8..12], &card[12..]].join(sep);
        for shown in [&card, &grouped] {
            let r = redact(&format!("{pre} {shown} {post}"));
            prop_assert!(!r.text.contains(shown.as_str()), "{} -> {}", shown, r.text);
        }
    }
}

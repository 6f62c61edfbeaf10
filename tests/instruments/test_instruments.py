"""The shipped instruments load and hold the content issue 3 and DOMAIN.md require."""

from __future__ import annotations

import pytest

from toolkit.instruments.model import instrument_path, load_instrument, normalise_answer

# The 19 Census 2021 ethnic group labels, copied verbatim from DOMAIN.md section 2.
DOMAIN_ETHNICITY = {
    "White": [
        "English, Welsh, Scottish, Northern Irish or British",
        "Irish",
        "Gypsy or Irish Traveller",
        "Roma",
        "Any other White background",
    ],
    "Mixed or Multiple ethnic groups": [
        "White and Black Caribbean",
        "White and Black African",
        "White and Asian",
        "Any other Mixed or Multiple ethnic background",
    ],
    "Asian or Asian British": [
        "Indian",
        "Pakistani",
        "Bangladeshi",
        "Chinese",
        "Any other Asian background",
    ],
    "Black, Black British, Caribbean or African": [
        "Caribbean",
        "African",
        "Any other Black, Black British, or Caribbean background",
    ],
    "Other ethnic group": ["Arab", "Any other ethnic group"],
}
# DOMAIN.md section 4, the NHS Staff Survey intention-to-leave items.
LEAVING = {
    "think_leaving": "I often think about leaving this organisation.",
    "look_new_job": "I will probably look for a job at a new organisation in the next 12 months.",
    "leave_asap": "As soon as I can find another job, I will leave this organisation.",
}


@pytest.mark.parametrize("name", ["demographics", "response_scales", "retention", "culture"])
def test_every_shipped_instrument_loads(surveys, name):
    instrument = load_instrument(instrument_path(surveys, name))
    assert instrument.name == name


def test_ethnicity_has_the_19_census_categories_with_domain_labels(culture):
    choices = [c for c in culture.choices("ethnicity") if not c.missing]
    assert [c.label for c in choices] == [
        label for group in DOMAIN_ETHNICITY.values() for label in group
    ]
    for choice in choices:
        group = next(g for g, labels in DOMAIN_ETHNICITY.items() if choice.label in labels)
        assert choice.groups["grouped"] == group
        assert choice.groups["binary"] == ("White" if group == "White" else "Ethnic minority")
    missing = [c for c in culture.choices("ethnicity") if c.missing]
    assert [c.label for c in missing] == ["Prefer not to say"]


def test_nhs_ethnic_category_codes_map_onto_census_categories(culture):
    lookup = culture.accepted_answers("ethnicity")
    expected = {
        "A": "WBRI",
        "B": "WIRI",
        "C": "WOTH",
        "D": "MWBC",
        "E": "MWBA",
        "F": "MWAS",
        "G": "MOTH",
        "H": "AIND",
        "J": "APKN",
        "K": "ABAN",
        "L": "AOTH",
        "M": "BCRB",
        "N": "BAFR",
        "P": "BOTH",
        "R": "ACHN",
        "S": "OOTH",
        "Z": "PNTS",
    }
    assert {code: lookup[code.casefold()] for code in expected} == expected
    assert lookup["99"] is None  # "not known" is stored as no answer, unlike Prefer not to say
    assert lookup[normalise_answer("  white   BRITISH ")] == "WBRI"


def test_existing_codes_others_rely_on_are_kept(retention, culture):
    assert [c.code for c in culture.choices("region")][:7] == [
        "EOE",
        "LON",
        "MID",
        "NEY",
        "NW",
        "SE",
        "SW",
    ]
    assert {"COMM", "HOSP", "GPPCN", "HJ", "MH", "CHS", "ICB", "OTHER"} <= {
        c.code for c in culture.choices("sector")
    }
    assert {"PTPT", "LT2", "Y2TO5", "Y5TO10", "GT10"} <= {
        c.code for c in culture.choices("career_stage")
    }
    assert [c.code for c in culture.choices("condition_reduces_activity")][:3] == [
        "LOT",
        "LITTLE",
        "NONE",
    ]
    assert [c.code for c in retention.choices("think_leaving")] == ["1", "2", "3", "4", "5"]
    assert culture.choices("harassment_public")[0].label == "Never"
    assert [c.code for c in culture.choices("equal_opportunities")] == ["Y", "N", "DK"]
    assert culture.dimension("disability").derived == "equality_act_disability"
    assert culture.dimension("sector").reference == {"detailed": "Hospital"}
    assert culture.dimension("career_stage").reference == {"detailed": "Registered over 10 years"}


def test_every_monitoring_item_offers_prefer_not_to_say(culture):
    monitoring = [item for item in culture.items if item.equality_role]
    assert len(monitoring) >= 14
    for item in monitoring:
        assert "Prefer not to say" in [c.label for c in culture.choices(item) if c.missing], (
            item.name
        )


def test_the_three_intention_to_leave_items_and_their_score(retention):
    for name, label in LEAVING.items():
        item = retention.item_map[name]
        assert item.label == label
        assert item.base_type == "likert" and item.favourable == "low" and item.nss_item
    scale = next(s for s in retention.scales if s.name == "thinking_about_leaving")
    assert set(scale.items) == set(LEAVING) == set(scale.reversed)
    # NSS scoring: favourable end (strongly disagree) scores 10, then 7.5, 5, 2.5, 0.
    assert retention.scale_points(scale)["think_leaving"] == {
        "1": 10,
        "2": 7.5,
        "3": 5,
        "4": 2.5,
        "5": 0,
    }


@pytest.mark.parametrize(
    ("standard", "items"),
    [
        ("WRES 5", {"harassment_public"}),
        ("WRES 6", {"harassment_managers", "harassment_colleagues"}),
        ("WRES 7", {"equal_opportunities"}),
        ("WRES 8", {"discrimination_colleagues"}),
        ("WDES 4a", {"harassment_public"}),
        ("WDES 4b", {"harassment_managers"}),
        ("WDES 4c", {"harassment_colleagues"}),
        ("WDES 4d", {"harassment_reported"}),
        ("WDES 5", {"equal_opportunities"}),
        ("WDES 6", {"pressure_to_attend"}),
        ("WDES 7", {"valued_by_organisation"}),
        ("WDES 8", {"adequate_adjustments"}),
    ],
)
def test_wres_and_wdes_equivalents_are_binary_outcomes(culture, standard, items):
    feeding = {item.name for item in culture.items if standard in item.standards}
    assert feeding == items
    for name in items:
        item = culture.item_map[name]
        assert item.outcome is not None and item.nss_item


def test_harassment_outcome_counts_any_experience_as_adverse(culture):
    outcome = culture.item_map["harassment_public"].outcome
    assert outcome.direction == "adverse" and outcome.codes == ("2", "3", "4", "5")


def test_adjustments_are_asked_of_disabled_staff_only(culture):
    from toolkit.instruments.relevance import evaluate_relevant

    relevant = culture.item_map["adequate_adjustments"].relevant
    asked = {
        (q1, q2): evaluate_relevant(
            relevant, {"long_term_condition": q1, "condition_reduces_activity": q2}
        )
        for q1 in ("Y", "N", None)
        for q2 in ("LOT", "LITTLE", "NONE", None)
    }
    assert {key for key, value in asked.items() if value} == {("Y", "LOT"), ("Y", "LITTLE")}


def test_trainee_items_are_asked_of_ptpt_only(retention):
    trainee = [item for item in retention.items if item.name.startswith("trainee_")]
    assert len(trainee) >= 6
    assert all("${career_stage} = 'PTPT'" in item.relevant for item in trainee)


def test_retention_covers_destinations_reasons_and_development(retention):
    destinations = {c.code for c in retention.choices("leave_destination")}
    assert {"SAME_SECTOR", "OTHER_SECTOR", "LEAVE_PHARMACY", "LEAVE_NHS", "RETIRE"} <= destinations
    assert retention.item_map["leave_reasons"].base_type == "select_multiple"
    assert len(retention.choices("leave_reasons")) == 9
    assert {
        "dev_leadership",
        "dev_clinical_skills",
        "dev_pgd",
        "dev_mh_ld",
        "dev_digital",
        "funded_pathway",
        "protected_learning_time",
        "pillars_developed",
        "sat_pay",
        "sat_recognition",
        "sat_use_of_skills",
    } <= set(retention.item_map)


def test_every_item_says_where_it_comes_from(retention, culture):
    for instrument in (retention, culture):
        assert all(item.source for item in instrument.items), instrument.name

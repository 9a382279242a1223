"""The local composer's news-topic table: common news topics as concrete, filmable, policy-safe scenes.

Its own module because the table grows with the news (a topic a script often hits, a better moment),
while the composer that uses it does not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    words: frozenset[str]
    moments: tuple[str, str, str]  # subject + one action + place; one per sub-shot, cycling
    sound: str


def _topic(words: str, sound: str, *moments: str) -> Topic:
    return Topic(frozenset(words.split()), moments, sound)  # type: ignore[arg-type]


# Common news topics -> concrete, filmable, policy-safe scenes (no screens with text, no people one could name).
TOPICS = (
    _topic(
        "election elections vote votes voters voting ballot ballots polls polling campaign candidate candidates",
        "shuffling footsteps and rustling paper",
        "A line of voters waits outside a polling station in a community hall, one person stepping through the door.",
        "A voter slides a folded paper ballot into a clear ballot box in a quiet polling station.",
        "Volunteers sort paper ballots into neat piles at a long table in a bright community hall.",
    ),
    _topic(
        "government parliament congress senate senator senators lawmakers minister president bill law laws policy "
        "legislation politician politicians cabinet officials",
        "a murmuring room and creaking wooden benches",
        "A speaker stands at a wooden podium in a grand chamber, gesturing calmly toward rows of listeners.",
        "Officials in dark suits take their seats along curved rows of a wood-panelled chamber.",
        "A hand signs a document with a fountain pen on a polished desk in a stately office.",
    ),
    _topic(
        "stock stocks shares market markets investors investor trading traders earnings index wall",
        "keyboard clicks and a low office hum",
        "A trader at a desk of glowing monitors on a modern trading floor leans in, face lit by shifting colours.",
        "A hand rests on a mouse beside a cup of coffee as monitor light flickers across a trading desk.",
        "Rows of traders work at long desks on a busy trading floor, monitors glowing in the background.",
    ),
    _topic(
        "economy economic inflation prices price cost costs spending consumers shoppers retail groceries wages "
        "recession",
        "the bustle of a market street",
        "A shopper picks up fresh fruit at a busy market stall and counts out coins into the seller's hand.",
        "A cashier's hands pass groceries across a supermarket checkout, one item after another.",
        "People carry shopping bags past colourful stalls along a busy market street.",
    ),
    _topic(
        "rates rate interest bank banks banking loan loans mortgage mortgages lending debt reserve",
        "a quiet bank hall and soft footsteps",
        "A hand counts banknotes at a bank counter, stacking them neatly in a quiet bank branch.",
        "A couple reviews paperwork at a kitchen table, a calculator and a cup of tea beside them.",
        "Glass doors of a bank branch slide open as a customer walks into a bright lobby.",
    ),
    _topic(
        "oil gas energy fuel petrol gasoline barrel barrels pipeline pipelines power electricity grid",
        "wind, distant engines and the hum of machinery",
        "An oil tanker moves slowly across open sea toward a hazy horizon.",
        "A hand lifts a fuel nozzle from a pump at a petrol station and slots it into a car.",
        "Power lines stretch across green hills past a tall steel pylon.",
    ),
    _topic(
        "technology tech ai artificial software app apps startup startups chip chips semiconductor semiconductors "
        "data computer computers robot robots smartphone smartphones",
        "a soft electronic hum and keyboard clicks",
        "A developer types at a laptop in a dim open-plan office, screen light on their face.",
        "A robotic arm places a tiny chip onto a circuit board in a white clean room.",
        "Rows of blinking servers line a cool data-centre aisle as a technician walks past.",
    ),
    _topic(
        "factory factories manufacturing production workers worker jobs job employment unemployment industry "
        "industrial assembly output",
        "clanking machinery and a steady industrial hum",
        "A worker in a hard hat guides a metal part along an assembly line on a bright factory floor.",
        "Sparks drift from a welding torch as gloved hands join two steel parts.",
        "Workers in high-visibility vests walk between tall machines in a wide factory hall.",
    ),
    _topic(
        "storm storms hurricane hurricanes flood floods flooding rain weather heatwave wind winds tornado snow",
        "rain, wind and distant thunder",
        "Heavy rain sweeps across a city street as people hurry past under umbrellas.",
        "Dark storm clouds roll over a coastline as waves break against the shore.",
        "Water runs along a flooded kerb as a person in rubber boots steps carefully past.",
    ),
    _topic(
        "climate emissions carbon warming wildfire wildfires drought environment environmental pollution "
        "renewable renewables solar turbines",
        "wind over open land",
        "Rows of solar panels stretch across a sunlit field as a technician walks between them.",
        "Dry cracked earth lies under a hazy sun, heat shimmer rising from the ground.",
        "Wind turbines turn slowly along a green ridge under a wide sky.",
    ),
    _topic(
        "health hospital hospitals doctor doctors nurse nurses patients patient vaccine vaccines virus disease "
        "medical medicine drug drugs pandemic healthcare",
        "soft footsteps and the quiet beeps of a hospital ward",
        "A nurse in scrubs walks down a bright hospital corridor pushing a supply cart.",
        "Gloved hands place small glass vials into a rack on a laboratory bench.",
        "A doctor in a white coat studies an X-ray on a light box in a calm consulting room.",
    ),
    _topic(
        "court courts trial judge judges jury lawsuit lawsuits verdict ruling lawyer lawyers prosecutors legal",
        "an echoing hall and slow footsteps",
        "A wooden gavel rests on a judge's bench in an empty courtroom.",
        "Lawyers in dark suits walk up the wide stone steps of a courthouse.",
        "Sunlight falls slowly across rows of empty courtroom benches.",
    ),
    _topic(
        "train trains rail railway railways metro subway commuters commuter commute bus buses traffic transport "
        "transit platform",
        "rumbling wheels and station echoes",
        "A commuter train glides into a station platform and its doors slide open.",
        "Commuters stream down a wide station staircase during rush hour.",
        "Headlights trace slowly through heavy traffic on a multi-lane road.",
    ),
    _topic(
        "airline airlines flight flights airport airports plane planes aircraft aviation passengers",
        "jet engines and a busy terminal hall",
        "A passenger jet taxis past a wide airport terminal window.",
        "Travellers wheel suitcases through a bright departure hall.",
        "A plane climbs away from a runway into a pale sky.",
    ),
    _topic(
        "housing house houses home homes rent rents property estate homeowners apartment apartments construction",
        "a quiet residential street and distant construction",
        "A hand turns a key in the front door of a suburban house.",
        "Construction cranes swing over a half-built apartment block.",
        "A row of terraced houses lines a quiet residential street.",
    ),
    _topic(
        "car cars electric ev evs vehicle vehicles automaker automakers battery batteries charging",
        "passing traffic and a soft electric whine",
        "An electric car charges at a roadside station as a cable clicks into its port.",
        "A new car rolls off the end of a bright assembly line.",
        "Cars flow along a wide highway as the road curves into the distance.",
    ),
    _topic(
        "space rocket rockets launch satellite satellites astronaut astronauts orbit mars",
        "a deep rumble fading into wind",
        "A rocket lifts off from a coastal launch pad, trailing bright exhaust into the sky.",
        "An astronaut in a white suit walks along a gantry toward a rocket.",
        "A satellite dish turns slowly toward the night sky.",
    ),
    _topic(
        "farm farms farmer farmers crops crop harvest agriculture food wheat grain cattle",
        "birdsong, wind in the crops and a distant tractor",
        "A farmer walks between rows of green crops, brushing the leaves with one hand.",
        "A combine harvester moves slowly across a golden wheat field.",
        "Weathered hands scoop grain from a full wooden crate.",
    ),
    _topic(
        "trade tariff tariffs exports imports shipping port ports containers supply goods",
        "cranes, horns and the clank of steel containers",
        "A crane lifts a shipping container off a cargo ship at a busy port.",
        "Stacks of colourful shipping containers line a dock as a truck drives between them.",
        "A cargo ship slides slowly out of a harbour toward open sea.",
    ),
    _topic(
        "protest protests protesters strike strikes rally rallies march demonstrators union unions",
        "the steady footsteps of a crowd",
        "A peaceful crowd walks along a wide avenue holding blank placards.",
        "Workers stand together outside a factory gate, arms folded, breath visible in the cold.",
        "A long line of people moves slowly across a city square.",
    ),
    _topic(
        "match game team season league stadium fans championship tournament olympics",
        "a roaring stadium crowd",
        "A stadium crowd rises to its feet under bright floodlights.",
        "A ball rolls across freshly cut grass on an empty pitch.",
        "Fans in team colours stream through the stadium gates.",
    ),
    _topic(
        "bitcoin crypto cryptocurrency cryptocurrencies blockchain token tokens",
        "a quiet room and soft electronic hum",
        "A person scrolls a phone in a dark room, face lit by the screen's glow.",
        "A stack of metal coins catches the light on a dark desk.",
        "Rows of mining computers blink in a dim warehouse.",
    ),
)
CTA_TOPIC = _topic(
    "subscribe subscribed follow notifications channel comment comments",
    "a quiet living room",
    "A person on a sofa picks up a smartphone and smiles at the screen.",
    "A thumb taps a phone screen, warm lamp light on the hand.",
    "A person sets a phone down on a coffee table and looks up, smiling.",
)
GENERIC_SCENE = (
    "A busy city street where people walk past shop fronts, one person pausing at the centre of the frame.",
    "A person's hands at work on a café table, a cup of coffee steaming beside them.",
    "A quiet city square as people cross it calmly in both directions.",
)


def match_topic(text: str) -> Topic | None:
    """The topic with most keyword hits; on a tie the one the narration mentions first ("Night trains ... senator")."""
    words = re.findall(r"[a-z]+", text.lower())
    best, best_key = None, (0, 0)
    for topic in TOPICS:
        positions = [i for i, word in enumerate(words) if word in topic.words]
        key = (len(set(words[i] for i in positions)), -positions[0] if positions else 0)
        if key[0] and key > best_key:
            best, best_key = topic, key
    return best


def mentions_cta(text: str) -> bool:
    return bool(CTA_TOPIC.words & set(re.findall(r"[a-z]+", text.lower())))

//! Response bodies shaped like the real Movie Guru API, serialized once at start-up.
//!
//! A frontend pointed at the mock, or a curious student with curl, sees plausible data: agent
//! responses with featured movies, a preferences profile, a chat history. Building them once keeps
//! the request path to a reference-count bump.

use bytes::Bytes;
use serde_json::{Value, json};

struct Movie {
    title: &'static str,
    runtime_minutes: u32,
    genres: &'static [&'static str],
    rating: f32,
    plot: &'static str,
    released: u32,
    director: &'static str,
    actors: &'static [&'static str],
    tconst: &'static str,
}

/// Public-domain classics, so nothing here pretends to be a real recommendation engine's output.
const CATALOG: &[Movie] = &[
    Movie {
        title: "The General",
        runtime_minutes: 79,
        genres: &["Action", "Adventure", "Comedy"],
        rating: 4.1,
        plot: "A train engineer chases a stolen locomotive across enemy lines to win back his love.",
        released: 1926,
        director: "Clyde Bruckman, Buster Keaton",
        actors: &["Buster Keaton", "Marion Mack"],
        tconst: "tt0017925",
    },
    Movie {
        title: "Metropolis",
        runtime_minutes: 153,
        genres: &["Drama", "Sci-Fi"],
        rating: 4.2,
        plot: "In a futuristic city split between planners and workers, a mediator must bridge the divide.",
        released: 1927,
        director: "Fritz Lang",
        actors: &["Brigitte Helm", "Alfred Abel", "Gustav Fröhlich"],
        tconst: "tt0017136",
    },
    Movie {
        title: "Sherlock Jr.",
        runtime_minutes: 45,
        genres: &["Action", "Comedy", "Fantasy"],
        rating: 4.1,
        plot: "A film projectionist dreams himself into the movie he is showing to solve a theft.",
        released: 1924,
        director: "Buster Keaton",
        actors: &["Buster Keaton", "Kathryn McGuire"],
        tconst: "tt0015324",
    },
    Movie {
        title: "Nosferatu",
        runtime_minutes: 94,
        genres: &["Fantasy", "Horror"],
        rating: 3.9,
        plot: "An estate agent travels to Transylvania and brings a vampire's shadow home with him.",
        released: 1922,
        director: "F. W. Murnau",
        actors: &["Max Schreck", "Greta Schröder"],
        tconst: "tt0013442",
    },
    Movie {
        title: "The Kid",
        runtime_minutes: 68,
        genres: &["Comedy", "Drama", "Family"],
        rating: 4.1,
        plot: "A tramp takes in an abandoned child and raises him as a partner in small schemes.",
        released: 1921,
        director: "Charles Chaplin",
        actors: &["Charles Chaplin", "Jackie Coogan"],
        tconst: "tt0012349",
    },
    Movie {
        title: "Safety Last!",
        runtime_minutes: 70,
        genres: &["Action", "Comedy", "Romance"],
        rating: 4.0,
        plot: "A shop clerk climbs a department store's facade to win a publicity prize.",
        released: 1923,
        director: "Fred C. Newmeyer, Sam Taylor",
        actors: &["Harold Lloyd", "Mildred Davis"],
        tconst: "tt0014429",
    },
];

fn movie_json(m: &Movie) -> Value {
    json!({
        "title": m.title,
        "runtime_minutes": m.runtime_minutes,
        "genres": m.genres,
        "rating": m.rating,
        "plot": m.plot,
        "released": m.released,
        "director": m.director,
        "actors": m.actors,
        "poster": "",
        "tconst": m.tconst,
    })
}

fn preferences() -> Value {
    json!({
        "likes": {
            "actors": ["Buster Keaton"],
            "directors": ["Fritz Lang"],
            "genres": ["Comedy", "Fantasy"],
            "others": ["movies with trains"],
        },
        "dislikes": {
            "actors": [],
            "directors": [],
            "genres": ["Horror"],
            "others": ["violent movies"],
        },
    })
}

fn agent_response(answer: &str, movies: &[&Movie], result: &str) -> Value {
    json!({
        "answer": answer,
        "relevant_movies": movies.iter().map(|m| m.title).collect::<Vec<_>>(),
        "context": movies.iter().map(|m| movie_json(m)).collect::<Vec<_>>(),
        "error_message": "",
        "result": result,
        "preferences": preferences(),
    })
}

fn bytes(v: &Value) -> Bytes {
    Bytes::from(v.to_string())
}

/// Every canned body the handlers send.
pub struct Bodies {
    pub health: Bytes,
    pub login: Bytes,
    pub logout: Bytes,
    pub startup: Bytes,
    /// Successful chat answers; one is picked per reply so repeated calls do not look frozen.
    pub chat: Vec<Bytes>,
    pub chat_unsafe: Bytes,
    pub preferences: Bytes,
    pub preferences_updated: Bytes,
    pub history: Bytes,
    pub empty: Bytes,
}

impl Bodies {
    pub fn new() -> Bodies {
        let c = CATALOG;
        Bodies {
            health: Bytes::from_static(b"\"OK\"\n"),
            login: bytes(&json!({"login": "success"})),
            logout: bytes(&json!({"logout": "success"})),
            startup: bytes(&agent_response(
                "Welcome back! Here are a few films picked for you.",
                &[&c[0], &c[1], &c[2], &c[4], &c[5]],
                "SUCCESS",
            )),
            chat: vec![
                bytes(&agent_response(
                    "If you feel like a fantasy movie, try Sherlock Jr.: a dream inside a film.",
                    &[&c[2], &c[3]],
                    "SUCCESS",
                )),
                bytes(&agent_response(
                    "For something with trains and slapstick, The General is hard to beat.",
                    &[&c[0], &c[5]],
                    "SUCCESS",
                )),
                bytes(&agent_response(
                    "Metropolis is a landmark of science fiction; The Kid is gentler.",
                    &[&c[1], &c[4]],
                    "SUCCESS",
                )),
            ],
            chat_unsafe: bytes(&agent_response(
                "I can't help with that, but I'm happy to talk about movies.",
                &[],
                "UNSAFE",
            )),
            preferences: bytes(&preferences()),
            preferences_updated: bytes(&json!({"update": "success"})),
            history: bytes(&json!([
                {"role": "user", "content": "I feel like watching a fantasy movie"},
                {"role": "agent", "content": "Try Sherlock Jr. or Nosferatu."},
            ])),
            empty: Bytes::new(),
        }
    }

    /// The short JSON error of an injected failure.
    pub fn failure(endpoint: &str) -> Bytes {
        bytes(&json!({"error": "injected failure", "endpoint": endpoint}))
    }
}

impl Default for Bodies {
    fn default() -> Self {
        Bodies::new()
    }
}

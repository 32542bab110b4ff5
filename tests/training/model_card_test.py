from keras_s2s.training.model_card import format_model_card
from keras_s2s.training.recipe import Recipe
from tests.test_case import TestCase


def _card(training):
    recipe = Recipe.from_dict({"name": "g2p", "data": {"dataset": "cmudict"}})
    metadata = {
        "task": "grapheme-to-phoneme",
        "scores": [{"split": "dev", "metric": "wer", "value": 25.0, "signature": "s"}],
        "parameter_count": 1000,
        "training": training,
        "command": "KERAS_BACKEND=jax python tools/train.py g2p.json",
    }
    return format_model_card("g2p", metadata, recipe.get_config())


class ModelCardTest(TestCase):
    def test_training_notes_follow_the_epoch_table(self):
        history = [
            {"epoch": 1, "loss": 0.9, "validation_score": 40.0, "learning_rate": 1e-3,
             "sampling_probability": None, "seconds": 60.0},
        ]
        notes = ["Epoch 1 was scored on all dev words.", "A second paragraph."]
        card = _card({"history": history, "notes": notes})
        table_row = "| 1 | 0.9000 | 40.00 | 0.001 | 0.00 | 60 |"
        self.assertLess(card.index(table_row), card.index(notes[0]))
        self.assertLess(card.index(notes[0]), card.index(notes[1]))
        self.assertLess(card.index(notes[1]), card.index("## Reproduce"))
        self.assertIn(f"{notes[0]}\n\n{notes[1]}\n", card)
        # Without notes the table is followed by the next section only.
        self.assertIn(f"{table_row}\n\n## Reproduce", _card({"history": history}))

    def test_the_wer_protocol_names_the_unscored_training_words(self):
        self.assertIn("words that have an entry in the training split are not scored",
                      _card({}))

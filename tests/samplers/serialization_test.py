import keras_hub

from keras_s2s import samplers
from keras_s2s.samplers import BeamSampler
from keras_s2s.samplers import ExactSampler
from keras_s2s.samplers import GreedySampler
from keras_s2s.samplers import RandomSampler
from keras_s2s.samplers import TopKSampler
from keras_s2s.samplers import TopPSampler
from tests.samplers.sampler_test_utils import make_model
from tests.test_case import TestCase

NAMES = {
    "greedy": GreedySampler,
    "beam": BeamSampler,
    "top_k": TopKSampler,
    "top_p": TopPSampler,
    "random": RandomSampler,
    "exact": ExactSampler,
}


class SerializationTest(TestCase):
    def test_get_by_name(self):
        for name, cls in NAMES.items():
            with self.subTest(name=name):
                self.assertIs(type(samplers.get(name)), cls)

    def test_get_returns_instances_unchanged(self):
        sampler = BeamSampler(num_beams=3)
        self.assertIs(samplers.get(sampler), sampler)
        hub = keras_hub.samplers.BeamSampler(num_beams=2)
        self.assertIs(samplers.get(hub), hub)

    def test_serialize_deserialize_and_config_dicts(self):
        instances = [
            GreedySampler(),
            BeamSampler(num_beams=3, length_penalty=0.6, no_repeat_ngram_size=2),
            TopKSampler(k=3, seed=1, temperature=0.5),
            TopPSampler(p=0.8, seed=2),
            RandomSampler(seed=3, temperature=2.0),
            ExactSampler(max_expansions=50, length_penalty=1.0),
        ]
        for sampler in instances:
            with self.subTest(sampler=type(sampler).__name__):
                config = samplers.serialize(sampler)
                revived = samplers.deserialize(config)
                self.assertIs(type(revived), type(sampler))
                self.assertEqual(revived.get_config(), sampler.get_config())
                revived = samplers.get(config)
                self.assertEqual(revived.get_config(), sampler.get_config())
        short = samplers.get({"class_name": "beam", "config": {"num_beams": 2}})
        self.assertEqual(short.num_beams, 2)

    def test_compile_resolves_through_keras_s2s(self):
        model = make_model()
        self.assertIs(type(model.sampler), GreedySampler)
        model.compile(sampler="beam")
        self.assertIs(type(model.sampler), BeamSampler)
        model.compile(sampler={"class_name": "top_k", "config": {"k": 2}})
        self.assertEqual(model.sampler.k, 2)

    def test_unknown_or_bad_identifiers(self):
        for identifier in ["nope", "Beam", "BeamSampler"]:
            with self.subTest(identifier=identifier):
                with self.assertRaisesRegex(ValueError, "sampler="):
                    samplers.get(identifier)
        with self.assertRaisesRegex(ValueError, "sampler="):
            samplers.get(3)
        with self.assertRaisesRegex(ValueError, "sampler"):
            make_model().compile(sampler="nope")

"""keras-io examples/nlp/lstm_seq2seq.py ("Character-level recurrent sequence-to-sequence
model"), run with ``import chainrule as keras``.

The program's vectorization, its encoder-decoder (an encoder LSTM with ``return_state=True`` whose
states start a decoder LSTM through ``initial_state``), compile, fit, ``model.save`` and
``load_model``, the sampling models rebuilt from the loaded model's ``model.input[0]``,
``model.layers[2].output``, ``model.layers[3]`` and ``model.layers[4]``, and ``decode_sequence`` are
below as written. Changes: the English-French pairs (fra-eng.zip) are downloaded from
manythings.org, which CI cannot reach; in their place are 400 synthetic pairs in the same
tab-separated layout (a short English word sequence and a made-up "translation", word by word),
with ``latent_dim`` 64 instead of 256 (the program's 100 epochs are kept).
"""

import numpy as np
import pytest

import chainrule as keras

batch_size = 64
epochs = 100
latent_dim = 64
num_samples = 400

WORDS = {"go": "va", "run": "cours", "stop": "arrete", "wait": "attends", "help": "aide", "hi": "salut",
         "come": "viens", "smile": "souris", "eat": "mange", "sing": "chante"}


def synthetic_lines(seed=0):
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(num_samples):
        english = list(rng.choice(list(WORDS), size=rng.integers(1, 3)))
        lines.append(" ".join(english) + ".\t" + " ".join(WORDS[w] for w in english) + " !\tCC-BY 2.0")
    return lines


def vectorize(lines):
    """The program's "Prepare the data" section, on ``lines`` instead of the file's."""
    input_texts = []
    target_texts = []
    input_characters = set()
    target_characters = set()
    for line in lines[: min(num_samples, len(lines) - 1)]:
        input_text, target_text, _ = line.split("\t")
        target_text = "\t" + target_text + "\n"
        input_texts.append(input_text)
        target_texts.append(target_text)
        for char in input_text:
            if char not in input_characters:
                input_characters.add(char)
        for char in target_text:
            if char not in target_characters:
                target_characters.add(char)

    input_characters = sorted(list(input_characters))
    target_characters = sorted(list(target_characters))
    num_encoder_tokens = len(input_characters)
    num_decoder_tokens = len(target_characters)
    max_encoder_seq_length = max([len(txt) for txt in input_texts])
    max_decoder_seq_length = max([len(txt) for txt in target_texts])
    input_token_index = dict([(char, i) for i, char in enumerate(input_characters)])
    target_token_index = dict([(char, i) for i, char in enumerate(target_characters)])

    encoder_input_data = np.zeros((len(input_texts), max_encoder_seq_length, num_encoder_tokens), dtype="float32")
    decoder_input_data = np.zeros((len(input_texts), max_decoder_seq_length, num_decoder_tokens), dtype="float32")
    decoder_target_data = np.zeros((len(input_texts), max_decoder_seq_length, num_decoder_tokens), dtype="float32")
    for i, (input_text, target_text) in enumerate(zip(input_texts, target_texts)):
        for t, char in enumerate(input_text):
            encoder_input_data[i, t, input_token_index[char]] = 1.0
        encoder_input_data[i, t + 1 :, input_token_index[" "]] = 1.0
        for t, char in enumerate(target_text):
            decoder_input_data[i, t, target_token_index[char]] = 1.0
            if t > 0:
                decoder_target_data[i, t - 1, target_token_index[char]] = 1.0
        decoder_input_data[i, t + 1 :, target_token_index[" "]] = 1.0
        decoder_target_data[i, t:, target_token_index[" "]] = 1.0
    return dict(input_texts=input_texts, target_texts=target_texts, num_encoder_tokens=num_encoder_tokens,
                num_decoder_tokens=num_decoder_tokens, max_decoder_seq_length=max_decoder_seq_length,
                input_token_index=input_token_index, target_token_index=target_token_index,
                encoder_input_data=encoder_input_data, decoder_input_data=decoder_input_data,
                decoder_target_data=decoder_target_data)


def build(keras, num_encoder_tokens, num_decoder_tokens):
    """The program's "Build the model" section, compiled."""
    encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
    encoder = keras.layers.LSTM(latent_dim, return_state=True)
    encoder_outputs, state_h, state_c = encoder(encoder_inputs)
    encoder_states = [state_h, state_c]
    decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
    decoder_lstm = keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
    decoder_dense = keras.layers.Dense(num_decoder_tokens, activation="softmax")
    decoder_outputs = decoder_dense(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def sampling_models(keras, model):
    """The program's "Define sampling models" lines, from the loaded model."""
    encoder_inputs = model.input[0]  # input_1
    encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output  # lstm_1
    encoder_states = [state_h_enc, state_c_enc]
    encoder_model = keras.Model(encoder_inputs, encoder_states)

    decoder_inputs = model.input[1]  # input_2
    decoder_state_input_h = keras.Input(shape=(latent_dim,))
    decoder_state_input_c = keras.Input(shape=(latent_dim,))
    decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
    decoder_lstm = model.layers[3]
    decoder_outputs, state_h_dec, state_c_dec = decoder_lstm(decoder_inputs, initial_state=decoder_states_inputs)
    decoder_states = [state_h_dec, state_c_dec]
    decoder_dense = model.layers[4]
    decoder_outputs = decoder_dense(decoder_outputs)
    decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs, [decoder_outputs] + decoder_states)
    return encoder_model, decoder_model


def test_the_program(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = vectorize(synthetic_lines())
    num_decoder_tokens = data["num_decoder_tokens"]
    target_token_index = data["target_token_index"]
    max_decoder_seq_length = data["max_decoder_seq_length"]
    model = build(keras, data["num_encoder_tokens"], num_decoder_tokens)
    history = model.fit([data["encoder_input_data"], data["decoder_input_data"]], data["decoder_target_data"],
                        batch_size=batch_size, epochs=epochs, validation_split=0.2, verbose=0).history
    model.save("s2s_model.keras")

    model = keras.models.load_model("s2s_model.keras")
    encoder_model, decoder_model = sampling_models(keras, model)
    reverse_target_char_index = dict((i, char) for char, i in target_token_index.items())

    def decode_sequence(input_seq):
        states_value = encoder_model.predict(input_seq, verbose=0)
        target_seq = np.zeros((1, 1, num_decoder_tokens))
        target_seq[0, 0, target_token_index["\t"]] = 1.0
        stop_condition = False
        decoded_sentence = ""
        while not stop_condition:
            output_tokens, h, c = decoder_model.predict([target_seq] + states_value, verbose=0)
            sampled_token_index = np.argmax(output_tokens[0, -1, :])
            sampled_char = reverse_target_char_index[sampled_token_index]
            decoded_sentence += sampled_char
            if sampled_char == "\n" or len(decoded_sentence) > max_decoder_seq_length:
                stop_condition = True
            target_seq = np.zeros((1, 1, num_decoder_tokens))
            target_seq[0, 0, sampled_token_index] = 1.0
            states_value = [h, c]
        return decoded_sentence

    decoded = [decode_sequence(data["encoder_input_data"][i : i + 1]) for i in range(3)]

    assert history["loss"][-1] < history["loss"][0]
    # per character, padding included: 0.48 at first (the padding alone), 0.86 to 0.91 after
    # the 100 epochs (seeds 0 and 1)
    assert history["val_accuracy"][-1] > 0.75, history["val_accuracy"]
    assert all(0 < len(sentence) <= max_decoder_seq_length + 1 for sentence in decoded)

    # the sampling models are the trained model cut in two: fed the target characters one step at
    # a time (teacher forcing), they give the training model's outputs step for step
    i = 5
    full = model.predict([data["encoder_input_data"][i : i + 1], data["decoder_input_data"][i : i + 1]], verbose=0)
    states_value = encoder_model.predict(data["encoder_input_data"][i : i + 1], verbose=0)
    for t in range(6):
        output_tokens, h, c = decoder_model.predict([data["decoder_input_data"][i : i + 1, t : t + 1]] + states_value,
                                                    verbose=0)
        np.testing.assert_allclose(output_tokens[0, 0], full[0, t], rtol=1e-4, atol=1e-6)
        states_value = [h, c]


def test_the_model_as_in_keras(reference_keras):
    data = vectorize(synthetic_lines())
    ours = build(keras, data["num_encoder_tokens"], data["num_decoder_tokens"])
    theirs = build(reference_keras, data["num_encoder_tokens"], data["num_decoder_tokens"])
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    theirs.set_weights(ours.get_weights())
    x = [data["encoder_input_data"][:128], data["decoder_input_data"][:128]]
    y = data["decoder_target_data"][:128]
    mine = ours.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0).history
    reference = theirs.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0).history
    np.testing.assert_allclose(mine["loss"], reference["loss"], rtol=1e-4)
    np.testing.assert_allclose(mine["accuracy"], reference["accuracy"], rtol=1e-5)
    for mine_encoder_or_decoder, theirs_encoder_or_decoder in zip(sampling_models(keras, ours),
                                                                  sampling_models(reference_keras, theirs)):
        assert len(mine_encoder_or_decoder.outputs) == len(theirs_encoder_or_decoder.outputs)

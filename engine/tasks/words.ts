/** Small closed vocabularies the synthetic suites draw from. */
export const NOUNS = [
  'apple', 'river', 'stone', 'cloud', 'tiger', 'bread', 'chair', 'light', 'horse', 'glass',
  'paper', 'music', 'plant', 'ocean', 'train', 'honey', 'storm', 'field', 'piano', 'candle',
  'mirror', 'garden', 'window', 'forest', 'silver', 'rabbit', 'pencil', 'bottle', 'island', 'castle',
  'dragon', 'rocket', 'spider', 'summer', 'winter', 'coffee', 'button', 'basket', 'lemon', 'tomato',
  'wolf', 'bird', 'fish', 'lamp', 'door', 'road', 'ship', 'king', 'moon', 'star',
  'tree', 'rose', 'coin', 'bell', 'drum', 'rain', 'snow', 'fire', 'sand', 'salt',
] as const;

export const KEY_SYLLABLES = ['ba', 'ko', 'mi', 'te', 'ru', 'za', 'lo', 'ne', 'fi', 'da', 'su', 'ge', 'pa', 'vo', 'hi', 'ju'] as const;
